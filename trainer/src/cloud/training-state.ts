import * as tf from '@tensorflow/tfjs';
import { UserError } from '../user-error';
import type { FitState } from '../train/fit';
import type { CheckpointState, SerializedTensor } from './checkpoint-store';

/** What the loop adds to a checkpoint beyond the model: the tracking run and its own JSON state. */
export interface CheckpointExtras {
  readonly runId?: string;
  readonly meta?: Readonly<Record<string, unknown>>;
}

/**
 * Reads a compiled model's weights and its optimizer's state, with the loop's state, into a
 * checkpoint. Call it from fit's `onEpochEnd` or `onInterrupt`, before training goes on changing the weights.
 */
export async function captureTrainingState(model: tf.LayersModel, state: FitState, extras: CheckpointExtras = {}): Promise<CheckpointState> {
  const variables = model.weights;
  const weights = await Promise.all(variables.map((v) => serialize(v.name, v.read())));
  const optimizer = await Promise.all((await compiledOptimizer(model).getWeights()).map((w) => serialize(w.name, w.tensor)));
  const best = state.best && {
    epoch: state.best.epoch,
    valLoss: state.best.valLoss,
    weights: await Promise.all(state.best.weights.map((t, i) => serialize(variables[i]?.name ?? `best_${i}`, t))),
  };
  return { epoch: state.history.at(-1)?.epoch ?? 0, history: [...state.history], weights, optimizer, best, partial: state.partial, ...extras };
}

/**
 * Puts a checkpoint's weights and optimizer state into a freshly built and compiled model of the
 * same architecture, and returns the loop's state for fit's `resume`. The best weights come back
 * as new tensors the caller (fit) owns.
 */
export async function restoreTrainingState(model: tf.LayersModel, checkpoint: CheckpointState, where: string): Promise<FitState> {
  const expected = model.weights.map((v) => v.shape);
  const matches = (tensors: readonly SerializedTensor[]) =>
    tensors.length === expected.length && tensors.every((t, i) => sameShape(t.shape, expected[i]));
  if (!matches(checkpoint.weights) || (checkpoint.best && !matches(checkpoint.best.weights))) {
    throw new UserError(
      `the checkpoint in ${where} was written for a different model (${checkpoint.weights.length} weight tensors, this model has ${expected.length} `
        + 'or their shapes differ); resume with the same --model and --image-size, or give a new --checkpoint-uri',
    );
  }
  const weights = checkpoint.weights.map(toTensor);
  model.setWeights(weights);
  tf.dispose(weights);
  const optimizerState = checkpoint.optimizer.map((t) => ({ name: t.name, tensor: toTensor(t) }));
  // setWeights keeps the moments as variables of its own; the tensors handed in can go.
  await compiledOptimizer(model).setWeights(optimizerState);
  tf.dispose(optimizerState.map((w) => w.tensor));
  return {
    history: checkpoint.history,
    best: checkpoint.best && { epoch: checkpoint.best.epoch, valLoss: checkpoint.best.valLoss, weights: checkpoint.best.weights.map(toTensor) },
    partial: checkpoint.partial,
  };
}

function compiledOptimizer(model: tf.LayersModel): tf.Optimizer {
  if (!model.optimizer) throw new Error('checkpoints need a compiled model (model.compile first)');
  return model.optimizer;
}

async function serialize(name: string, tensor: tf.Tensor): Promise<SerializedTensor> {
  if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new Error(`checkpoint tensor ${name}: dtype ${tensor.dtype} is not supported`);
  const data = (await tensor.data()) as Float32Array | Int32Array;
  return { name, shape: [...tensor.shape], dtype: tensor.dtype, data };
}

function toTensor(t: SerializedTensor): tf.Tensor {
  return tf.tensor(t.data, [...t.shape], t.dtype);
}

function sameShape(a: readonly number[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
