import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../../../trainer/src/data/types';
import { binaryCrossEntropy } from '../../../trainer/src/train/batches';
import { fit, type FitState } from '../../../trainer/src/train/fit';
import { predictProbabilities } from '../../../trainer/src/train/predict';

function random(seed: number) {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}

/** Bright images are positive, dark ones negative, with noise: learnable by a single dense unit. */
function brightness(count: number, seed: number): LabeledImages {
  const size = 4;
  const next = random(seed);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 2);
  const pixels = new Uint8Array(count * size * size * 3);
  for (let i = 0; i < pixels.length; i++) {
    const label = labels[Math.floor(i / (size * size * 3))];
    pixels[i] = Math.round((label ? 170 : 70) + (next() - 0.5) * 100);
  }
  return { size, pixels, labels, files: [] };
}

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

const base = { batchSize: 16, augment: false, learningRate: 0.05, scale: 1 / 255 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

test('learns a separable problem, reports each epoch and ends on the best validation weights', async () => {
  const train = brightness(256, 1);
  const validation = brightness(64, 2);
  const model = tinyModel();
  const seen: number[] = [];
  const result = await fit(model, train, validation, {
    ...base, epochs: 6, patience: 0, random: random(3),
    onEpochEnd: async (record) => { seen.push(record.epoch); },
  });
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

test('stops early once validation loss has not improved for `patience` epochs', async () => {
  // A learning rate this large makes the loss bounce, so some epoch fails to improve.
  const model = tinyModel();
  model.compile({ optimizer: tf.train.adam(5), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const result = await fit(model, brightness(128, 4), brightness(64, 5), {
    ...base, epochs: 40, patience: 1, random: random(6),
  });
  expect(result.outcome).toBe('early-stopped');
  expect(result.history.length).toBeLessThan(40);
  expect(result.history.length - (result.bestEpoch ?? 0)).toBe(1);
});

test('an abort stops training and a resumed fit continues at the next epoch', async () => {
  const train = brightness(128, 7);
  const validation = brightness(32, 8);
  const stop = new AbortController();
  let saved: FitState | undefined;
  const first = await fit(tinyModel(), train, validation, {
    ...base, epochs: 5, patience: 0, random: random(9), signal: stop.signal,
    onEpochEnd: async (record, state) => {
      saved = { history: [...state.history], best: state.best };
      if (record.epoch === 2) stop.abort();
    },
  });
  expect(first.outcome).toBe('interrupted');
  expect(first.history.map((r) => r.epoch)).toEqual([1, 2]);

  const resumed = await fit(tinyModel(), train, validation, {
    ...base, epochs: 5, patience: 0, random: random(9), resume: saved,
  });
  expect(resumed.outcome).toBe('completed');
  expect(resumed.history.map((r) => r.epoch)).toEqual([1, 2, 3, 4, 5]);
  expect(resumed.history.slice(0, 2)).toEqual(first.history);
});
