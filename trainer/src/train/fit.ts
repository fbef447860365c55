import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../data/types';
import { accuracyAt, type AugmentSymmetries, augmentationSymmetries, binaryCrossEntropy, createAugmentation, epochOrder, fillBatch, stepRandom } from './batches';
import { formatMetric } from '../evaluate/html';
import type { EpochRecord } from './history';
import { learningRateAt, type LrSchedule } from './learning-rate';
import { predictProbabilities } from './predict';
import { BEST_MARK, silentProgress, type TrainingProgress } from './progress';
import { yieldToEventLoop } from './yield-to-event-loop';

export interface BestWeights {
  readonly epoch: number;
  readonly valLoss: number;
  readonly weights: tf.Tensor[];
}

/** An epoch stopped partway: the steps it trained and their running sums, so it can be finished later. */
export interface PartialEpoch {
  readonly epoch: number;
  /** Steps of the epoch already trained (the next one to run, 0-based). */
  readonly steps: number;
  readonly lossSum: number;
  readonly correctSum: number;
  readonly seen: number;
  /** Seconds spent training those steps. */
  readonly seconds: number;
}

/** Everything needed to continue training later: what a checkpoint holds. */
export interface FitState {
  readonly history: readonly EpochRecord[];
  readonly best?: BestWeights;
  /** Present when training stopped in the middle of an epoch. */
  readonly partial?: PartialEpoch;
}

export interface FitOptions {
  readonly epochs: number;
  readonly batchSize: number;
  /** Epochs without a better validation loss before stopping; 0 never stops early. */
  readonly patience: number;
  /** Training augmentation: which symmetries, and the brightness range (1 +/- brightness); absent: none. */
  readonly augment?: { readonly symmetries: AugmentSymmetries; readonly brightness: number };
  /**
   * Score validation with test-time augmentation (8 views per image, 8x the validation time), as
   * the threshold, the test metrics and the model server score images: the validation loss that
   * picks the best epoch (and drives early stopping and the plateau schedule) is then the loss of
   * the model as it will be used (`--validate-with-tta`).
   */
  readonly tta?: boolean;
  /** The optimizer's learning rate is set from it before every step. */
  readonly learningRate: LrSchedule;
  readonly scale: number;
  /**
   * Each epoch's order and each step's augmentation are drawn from (seed, epoch, step) alone, so a
   * run resumed at any step trains exactly the images the uninterrupted run would have.
   */
  readonly seed: number;
  /** Aborting stops training after the current step; the best weights are still restored. */
  readonly signal?: AbortSignal;
  readonly progress?: TrainingProgress;
  /** State of an interrupted run to continue from (its epochs and steps are not repeated). */
  readonly resume?: FitState;
  /** Called after each epoch with the record and the state to checkpoint. */
  readonly onEpochEnd?: (record: EpochRecord, state: FitState) => Promise<void>;
  /** Called when `signal` stopped training, while the model still holds its latest weights. */
  readonly onInterrupt?: (state: FitState) => Promise<void>;
}

export type FitOutcome = 'completed' | 'early-stopped' | 'interrupted';

export interface FitResult {
  readonly history: readonly EpochRecord[];
  readonly outcome: FitOutcome;
  /** Epoch whose weights the model holds at the end (the best on validation loss). */
  readonly bestEpoch?: number;
}

/**
 * Trains with the optimizer the caller compiled (its learning rate set step by step from
 * `learningRate`) on uint8 images converted batch by batch, evaluates
 * on the validation set after every epoch (as the model will be used: see `tta`), stops early on validation loss and restores the best
 * weights, and stops cleanly after the current step when `signal` aborts.
 */
export async function fit(
  model: tf.LayersModel,
  train: LabeledImages,
  validation: LabeledImages,
  options: FitOptions,
): Promise<FitResult> {
  const progress = options.progress ?? silentProgress;
  const history: EpochRecord[] = [...(options.resume?.history ?? [])];
  let best = options.resume?.best;
  const n = train.labels.length;
  const steps = Math.ceil(n / options.batchSize);
  const stride = train.size * train.size * 3;
  const x = new Float32Array(options.batchSize * stride);
  const y = new Float32Array(options.batchSize);
  const symmetries = options.augment && augmentationSymmetries(train.size, options.augment.symmetries);
  let outcome: FitOutcome = 'completed';
  let partial: PartialEpoch | undefined;

  for (let epoch = history.length + 1; epoch <= options.epochs; epoch++) {
    const order = epochOrder(n, options.seed, epoch);
    const carried = options.resume?.partial?.epoch === epoch ? options.resume.partial : undefined;
    let { steps: done, lossSum, correctSum, seen } = carried ?? { steps: 0, lossSum: 0, correctSum: 0, seen: 0 };
    const started = performance.now() - (carried?.seconds ?? 0) * 1000;
    progress.epochStart(epoch, options.epochs, steps, done);
    const position = { epoch, epochs: options.epochs, steps, valLosses: history.map((r) => r.val_loss) };
    const startRate = learningRateAt(options.learningRate, { ...position, step: 0 });
    for (; done < steps; done++) {
      await yieldToEventLoop();
      if (options.signal?.aborted) break;
      setLearningRate(model, learningRateAt(options.learningRate, { ...position, step: done }));
      const augmentation = symmetries && createAugmentation(symmetries, stepRandom(options.seed, epoch, done), options.augment?.brightness);
      const count = fillBatch(train, order, done * options.batchSize, Math.min(n, (done + 1) * options.batchSize), options.scale, x, y, augmentation);
      const xs = tf.tensor4d(x.subarray(0, count * stride), [count, train.size, train.size, 3]);
      const ys = tf.tensor2d(y.subarray(0, count), [count, 1]);
      const [loss, accuracy] = (await model.trainOnBatch(xs, ys)) as number[];
      tf.dispose([xs, ys]);
      lossSum += loss * count;
      correctSum += accuracy * count;
      seen += count;
      progress.step(done + 1, {
        loss: lossSum / seen,
        accuracy: correctSum / seen,
        imagesPerSecond: seen / ((performance.now() - started) / 1000),
      });
    }
    const trainSeconds = (performance.now() - started) / 1000;
    if (done < steps) {
      progress.epochEnd(`epoch ${epoch}/${options.epochs} interrupted after step ${done} of ${steps} (${seen} of ${n} images)`);
      if (done > 0) partial = { epoch, steps: done, lossSum, correctSum, seen, seconds: trainSeconds };
      outcome = 'interrupted';
      break;
    }
    const probabilities = await predictProbabilities(model, validation, options.batchSize, options.scale, options.tta);
    const record: EpochRecord = {
      epoch,
      loss: lossSum / seen,
      accuracy: correctSum / seen,
      val_loss: binaryCrossEntropy(validation.labels, probabilities),
      val_accuracy: accuracyAt(validation.labels, probabilities),
      learning_rate: startRate,
      epoch_seconds: (performance.now() - started) / 1000,
      images_per_second: seen / trainSeconds,
    };
    history.push(record);
    const improved = !best || record.val_loss < best.valLoss;
    if (improved) {
      if (best) tf.dispose(best.weights);
      best = { epoch, valLoss: record.val_loss, weights: model.getWeights().map((w) => w.clone()) };
    }
    progress.epochEnd(summaryLine(record, options.epochs, improved), improved);
    await options.onEpochEnd?.(record, { history, best });
    if (options.patience > 0 && best && epoch - best.epoch >= options.patience) {
      outcome = 'early-stopped';
      break;
    }
  }
  if (outcome === 'interrupted') await options.onInterrupt?.({ history, best, partial });
  if (best) model.setWeights(best.weights);
  return { history, outcome, bestEpoch: best?.epoch };
}

function setLearningRate(model: tf.LayersModel, rate: number): void {
  // TF.js optimizers keep the rate in a field they read at every step (protected in the typings).
  const optimizer = model.optimizer as unknown as { learningRate?: unknown } | undefined;
  if (typeof optimizer?.learningRate !== 'number') throw new Error('fit needs a model compiled with an optimizer that has a learning rate (Adam)');
  optimizer.learningRate = rate;
}

function summaryLine(r: EpochRecord, epochs: number, improved: boolean): string {
  return `epoch ${r.epoch}/${epochs}  loss ${formatMetric(r.loss)}  acc ${formatMetric(r.accuracy)}  `
    + `val_loss ${formatMetric(r.val_loss)}  val_acc ${formatMetric(r.val_accuracy)}  lr ${r.learning_rate.toExponential(1)}  `
    + `${r.images_per_second.toFixed(0)} img/s  ${r.epoch_seconds.toFixed(1)} s${improved ? `  ${BEST_MARK}` : ''}`;
}
