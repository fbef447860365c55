import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../../trainer/src/user-error';
import { createCheckpointStore } from '../../../trainer/src/cloud/checkpoint-store';
import { captureTrainingState, restoreTrainingState } from '../../../trainer/src/cloud/training-state';
import type { EpochRecord } from '../../../trainer/src/train/history';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function build(units = 4): tf.LayersModel {
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units, activation: 'relu' }), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
  });
  model.compile({ optimizer: tf.train.adam(0.05), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  return model;
}

const xs = tf.tensor2d([[0, 1, 2], [1, 0, 0], [2, 2, 1], [0, 0, 1]]);
const ys = tf.tensor2d([[1], [0], [1], [0]]);
const record: EpochRecord = { epoch: 2, loss: 0.4, accuracy: 0.75, val_loss: 0.5, val_accuracy: 0.5, learning_rate: 0.05, epoch_seconds: 1, images_per_second: 4 };

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

test('a model restored from a checkpoint trains on exactly as the original would have (weights and Adam state)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'state-'));
  try {
    const original = build();
    for (let i = 0; i < 3; i++) await original.trainOnBatch(xs, ys);
    const best = { epoch: 2, valLoss: 0.5, weights: original.getWeights().map((w) => w.clone()) };
    const state = await captureTrainingState(original, { history: [record], best }, { runId: 'run-42', meta: { seed: 7 } });
    await createCheckpointStore(dir).save(state);

    const restored = build();
    const checkpoint = await createCheckpointStore(dir).load();
    const fitState = await restoreTrainingState(restored, checkpoint!, dir);

    expect(checkpoint!.runId).toBe('run-42');
    expect(checkpoint!.meta).toEqual({ seed: 7 });
    expect(fitState.history).toEqual([record]);
    expect(fitState.best!.epoch).toBe(2);
    expect(await Promise.all(fitState.best!.weights.map(async (w) => Array.from(await w.data())))).toEqual(await weightsOf(original));
    expect(await weightsOf(restored)).toEqual(await weightsOf(original));

    // Adam's moments and step count came back too: the next steps are the same, not a fresh start.
    for (let i = 0; i < 2; i++) {
      await original.trainOnBatch(xs, ys);
      await restored.trainOnBatch(xs, ys);
    }
    const after = await weightsOf(original);
    (await weightsOf(restored)).forEach((values, i) => values.forEach((v, j) => expect(v).toBeCloseTo(after[i][j], 6)));

    // Control: the same weights with a fresh Adam take other steps, so the check above can fail.
    const weightsOnly = build();
    weightsOnly.setWeights(state.weights.map((t) => tf.tensor(t.data, [...t.shape])));
    for (let i = 0; i < 2; i++) await weightsOnly.trainOnBatch(xs, ys);
    const drift = (await weightsOf(weightsOnly)).flat().map((v, k) => Math.abs(v - after.flat()[k]));
    expect(Math.max(...drift)).toBeGreaterThan(1e-3);
    tf.dispose(best.weights);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a checkpoint of another architecture is refused with what to do', async () => {
  const state = await captureTrainingState(build(4), { history: [] });
  await expect(restoreTrainingState(build(5), state, 's3://b/ckpt')).rejects.toThrow(UserError);
  await expect(restoreTrainingState(build(5), state, 's3://b/ckpt')).rejects.toThrow(/s3:\/\/b\/ckpt was written for a different model.*--checkpoint-uri/);
});
