import * as tf from '@tensorflow/tfjs';
import { predictBatches } from '../../../trainer/src/backend/predict-batches';
import { selectBackend } from '../../../trainer/src/backend/select-backend';

function smallCnn(): tf.LayersModel {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, activation: 'relu' }));
  model.add(tf.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  return model;
}

beforeAll(async () => {
  await selectBackend('wasm', { threads: 1 });
});

test('predicting pre-split batches returns what predict returns for the whole set, in order', () => {
  const model = smallCnn();
  const images = tf.randomUniform([37, 12, 12, 3], 0, 1, 'float32', 5);
  const batches = [0, 16, 32].map((start) => tf.slice(images, [start], [Math.min(16, 37 - start)]));
  const whole = model.predict(images) as tf.Tensor;
  const batched = predictBatches(model, batches);
  expect(batched.shape).toEqual([37, 1]);
  const expected = whole.dataSync();
  batched.dataSync().forEach((p, i) => expect(p).toBeCloseTo(expected[i], 5));
  // The caller's batches are left alone.
  expect(batches.every((b) => !b.isDisposed)).toBe(true);
});

test('predict with batchSize on wasm (sliced by our Slice kernel) matches the cpu backend', async () => {
  const model = smallCnn();
  const images = tf.randomUniform([21, 12, 12, 3], 0, 1, 'float32', 6);
  const onWasm = (model.predict(images, { batchSize: 8 }) as tf.Tensor).dataSync();
  await tf.setBackend('cpu');
  const onCpu = (model.predict(images, { batchSize: 8 }) as tf.Tensor).dataSync();
  await tf.setBackend('wasm');
  onWasm.forEach((p, i) => expect(p).toBeCloseTo(onCpu[i], 5));
});

test('no batches is an error, not an empty result', () => {
  expect(() => predictBatches(smallCnn(), [])).toThrow('no batches');
});
