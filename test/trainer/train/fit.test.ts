import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../../../trainer/src/data/types';
import { binaryCrossEntropy } from '../../../trainer/src/train/batches';
import { fit, type FitState } from '../../../trainer/src/train/fit';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCheckpointStore } from '../../../trainer/src/cloud/checkpoint-store';
import { captureTrainingState, restoreTrainingState } from '../../../trainer/src/cloud/training-state';
import { predictProbabilities } from '../../../trainer/src/train/predict';
import { silentProgress } from '../../../trainer/src/train/progress';

function random(seed: number) {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}

/** 4x4 images whose pixels are bright (170) where `bright(label, column)` says, dark (70) elsewhere, with noise. */
function cells(count: number, seed: number, bright: (label: number, column: number) => boolean): LabeledImages {
  const size = 4;
  const next = random(seed);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 2);
  const pixels = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < pixels.length; i++) {
    const label = labels[Math.floor(i / (size * size * 3))];
    pixels[i] = Math.round((bright(label, Math.floor(i / 3) % size) ? 170 : 70) + (next() - 0.5) * 100);
  }
  return { size, pixels, labels, files: [] };
}

/** Bright images are positive, dark ones negative: learnable by a single dense unit. */
const brightness = (count: number, seed: number) => cells(count, seed, (label) => label === 1);
/** Positive cells are bright on the left, negative ones on the right: a model that reads one orientation. */
const leftBright = (count: number, seed: number) => cells(count, seed, (label, column) => (column < 2) === (label === 1));

function tinyModel(): tf.LayersModel {
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [4, 4, 3] }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return model;
}

const constantRate = { name: 'constant', base: 0.05, patience: 1, factor: 0.5 } as const;
const base = { batchSize: 16, learningRate: constantRate, scale: 1 / 255 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('learns a separable problem, reports each epoch and ends on the best validation weights', async () => {
  const train = brightness(256, 1);
  const validation = brightness(64, 2);
  const model = tinyModel();
  const seen: number[] = [];
  const summaries: { line: string; best?: boolean }[] = [];
  const result = await fit(model, train, validation, {
    ...base, epochs: 6, patience: 0, seed: 3,
    progress: { ...silentProgress, epochEnd: (line, best) => summaries.push({ line, best }) },
    onEpochEnd: async (record) => { seen.push(record.epoch); },
  });
  // Metrics with three decimals; the lines that say *best are those the progress is told are best.
  expect(summaries[0].line).toMatch(/^epoch 1\/6  loss \d\.\d{3}  acc \d\.\d{3}  val_loss \d\.\d{3}  val_acc \d\.\d{3}  lr 5\.0e-2  .*  \*best$/);
  expect(summaries.map((s) => s.line.endsWith('*best'))).toEqual(summaries.map((s) => Boolean(s.best)));
  expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  expect(result.outcome).toBe('completed');
  const last = result.history[result.history.length - 1];
  expect(last.val_accuracy).toBeGreaterThan(0.9);
  expect(last.images_per_second).toBeGreaterThan(0);
  const best = result.history.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
  expect(result.bestEpoch).toBe(best.epoch);
  const probabilities = await predictProbabilities(model, validation, 32, base.scale);
  expect(binaryCrossEntropy(validation.labels, probabilities)).toBeCloseTo(best.val_loss, 5);
});

test('with test-time augmentation, each epoch is validated as the model will be used, and the best epoch chosen so', async () => {
  const train = leftBright(128, 21);
  const validation = leftBright(64, 22);
  const model = tinyModel();
  const result = await fit(model, train, validation, { ...base, epochs: 4, patience: 0, seed: 23, tta: true });
  const best = result.history.find((r) => r.epoch === result.bestEpoch)!;
  expect(result.history.every((r) => r.val_loss >= best.val_loss)).toBe(true);
  const withTta = await predictProbabilities(model, validation, 32, base.scale, true);
  const without = await predictProbabilities(model, validation, 32, base.scale, false);
  // The kept weights score validation as the history says, under the 8 views the threshold, the test and the server use.
  expect(best.val_loss).toBeCloseTo(binaryCrossEntropy(validation.labels, withTta), 5);
  expect(Math.abs(binaryCrossEntropy(validation.labels, without) - best.val_loss)).toBeGreaterThan(0.01);
});

test('stops early once validation loss has not improved for `patience` epochs', async () => {
  // A learning rate this large makes the loss bounce, so some epoch fails to improve.
  const result = await fit(tinyModel(), brightness(128, 4), brightness(64, 5), {
    ...base, learningRate: { ...constantRate, base: 5 }, epochs: 40, patience: 1, seed: 6,
  });
  expect(result.outcome).toBe('early-stopped');
  expect(result.history.length).toBeLessThan(40);
  expect(result.history.length - (result.bestEpoch ?? 0)).toBe(1);
});

test('an abort at the end of an epoch stops training and a resumed fit continues at the next epoch', async () => {
  const train = brightness(128, 7);
  const validation = brightness(32, 8);
  const stop = new AbortController();
  let saved: FitState | undefined;
  const first = await fit(tinyModel(), train, validation, {
    ...base, epochs: 5, patience: 0, seed: 9, signal: stop.signal,
    onEpochEnd: async (record, state) => {
      saved = { history: [...state.history], best: state.best };
      if (record.epoch === 2) stop.abort();
    },
  });
  expect(first.outcome).toBe('interrupted');
  expect(first.history.map((r) => r.epoch)).toEqual([1, 2]);

  const resumed = await fit(tinyModel(), train, validation, {
    ...base, epochs: 5, patience: 0, seed: 9, resume: saved,
  });
  expect(resumed.outcome).toBe('completed');
  expect(resumed.history.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5]);
  expect(resumed.history.slice(0, 2)).toEqual(first.history);
});

/** A small conv net without dropout (its masks are not seeded), so two runs can match weight for weight. */
function tinyConvModel(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [4, 4, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(1) }),
      tf.layers.batchNormalization(),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init(2) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return model;
}

test('a run stopped in the middle of an epoch resumes at the next step and ends with the weights of an uninterrupted run', async () => {
  const train = brightness(160, 11);
  const validation = brightness(32, 12);
  // A cosine schedule: the resumed steps must get the rates the uninterrupted run's had.
  const options = { ...base, learningRate: { ...constantRate, name: 'cosine' }, augment: { symmetries: 'all', brightness: 0.1 }, epochs: 3, patience: 0, seed: 13 } as const;

  const uninterrupted = tinyConvModel();
  const reference = await fit(uninterrupted, train, validation, options);

  // Stopped after step 4 of epoch 2's 10 steps, checkpointed, and resumed in a fresh process's model.
  const stop = new AbortController();
  const store = createCheckpointStore(await mkdtemp(join(tmpdir(), 'fit-resume-')));
  const first = tinyConvModel();
  let epoch = 0;
  const interrupted = await fit(first, train, validation, {
    ...options,
    signal: stop.signal,
    progress: { ...silentProgress, epochStart: (e) => { epoch = e; }, step: (step) => { if (epoch === 2 && step === 4) stop.abort(); } },
    onInterrupt: async (state) => store.save(await captureTrainingState(first, state)),
  });
  expect(interrupted.outcome).toBe('interrupted');
  const checkpoint = await store.load();
  expect(checkpoint).toMatchObject({ epoch: 1, partial: { epoch: 2, steps: 4, seen: 64 } });

  const second = tinyConvModel();
  const resumed = await fit(second, train, validation, { ...options, resume: await restoreTrainingState(second, checkpoint!, 'test') });
  expect(resumed.outcome).toBe('completed');
  const withoutTimes = (history: typeof reference.history) => history.map(({ epoch, loss, accuracy, val_loss, val_accuracy }) => ({ epoch, loss, accuracy, val_loss, val_accuracy }));
  expect(withoutTimes(resumed.history)).toEqual(withoutTimes(reference.history));
  const expected = uninterrupted.getWeights();
  const actual = second.getWeights();
  expect(actual).toHaveLength(expected.length);
  for (let i = 0; i < expected.length; i++) {
    // Same images, same order, same augmentation, same arithmetic: the same weights to the last bit.
    expect(Array.from(actual[i].dataSync())).toEqual(Array.from(expected[i].dataSync()));
  }
});

test('sets the optimizer\'s learning rate from the schedule before every step and records what each epoch started with', async () => {
  const model = tinyModel();
  const rates: number[] = [];
  const optimizer = model.optimizer as unknown as { learningRate: number };
  const result = await fit(model, brightness(64, 17), brightness(32, 18), {
    ...base, learningRate: { ...constantRate, name: 'cosine' }, epochs: 2, patience: 0, seed: 19,
    progress: { ...silentProgress, step: () => { rates.push(optimizer.learningRate); } },
  });
  // 2 epochs of 4 steps: step k of 8 trains at 0.05 * (1 + cos(pi * k / 8)) / 2.
  const expected = Array.from({ length: 8 }, (_, k) => 0.05 * 0.5 * (1 + Math.cos((Math.PI * k) / 8)));
  expect(rates.map((r) => r.toFixed(8))).toEqual(expected.map((r) => r.toFixed(8)));
  expect(result.history.map((r) => r.learning_rate.toFixed(8))).toEqual([expected[0], expected[4]].map((r) => r.toFixed(8)));
});

test('timers and signals get their turn between steps, not only between epochs', async () => {
  const train = brightness(256, 14);
  let stepsWhenTimerFired: number | undefined;
  let steps = 0;
  setTimeout(() => { stepsWhenTimerFired = steps; }, 0);
  await fit(tinyModel(), train, brightness(32, 15), {
    ...base, epochs: 1, patience: 0, seed: 16,
    progress: { ...silentProgress, step: (step) => { steps = step; } },
  });
  expect(steps).toBe(16);
  expect(stepsWhenTimerFired).toBeDefined();
  expect(stepsWhenTimerFired).toBeLessThan(steps);
});
