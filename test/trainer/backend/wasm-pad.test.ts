import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { Margins, padOrCrop } from '../../../trainer/src/backend/wasm-kernels/kernel-calls';
import { trainingKernels } from '../../../trainer/src/backend/wasm-kernels/training-kernels';
import { fixedValues } from './layer-gradients';

/**
 * The padded input the direct filter gradients read: rows and columns of zeros around each image
 * (our pad_images kernel), crops where a margin is negative, and TF.js's PadV2 for any other
 * padding. Every value must be what slicing and padding on the cpu backend gives.
 */
const CASES: Array<[string, number[], Margins]> = [
  ['one pixel all round (a 3x3 same convolution)', [2, 5, 4, 3], [[0, 0], [1, 1], [1, 1], [0, 0]]],
  ['uneven: two rows above, three columns right', [3, 4, 6, 2], [[0, 0], [2, 0], [0, 3], [0, 0]]],
  ['cropped and padded at once', [2, 6, 5, 4], [[0, 0], [-1, 2], [1, -2], [0, 0]]],
  ['channels padded (PadV2)', [1, 3, 3, 5], [[0, 0], [0, 0], [1, 0], [1, 2]]],
];

async function expected(shape: number[], values: Float32Array, margins: Margins): Promise<number[]> {
  await tf.setBackend('cpu');
  const out = tf.tidy(() => {
    const begin = margins.map(([a]) => Math.max(-a, 0));
    const size = shape.map((d, i) => d - begin[i] - Math.max(-margins[i][1], 0));
    return tf.pad(tf.slice(tf.tensor(values, shape), begin, size), margins.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]));
  });
  const result = Array.from(await out.data());
  out.dispose();
  return result;
}

async function padded(shape: number[], values: Float32Array, margins: Margins): Promise<{ shape: number[]; values: number[] }> {
  await tf.setBackend('wasm');
  const backend = tf.backend() as BackendWasm;
  const x = tf.tensor(values, shape);
  const y = padOrCrop(backend, { dataId: x.dataId, shape: x.shape, dtype: 'float32' }, margins);
  const result = { shape: y.shape, values: Array.from(backend.readSync(y.dataId) as Float32Array) };
  backend.disposeData(y.dataId);
  x.dispose();
  return result;
}

describe.each([1, 2])('on %i wasm thread(s)', (threads) => {
  beforeAll(async () => {
    await selectBackend('wasm', { threads });
  });
  afterAll(async () => {
    await selectBackend('wasm', { threads: 1 });
  });

  test.each(CASES)('%s: the same values as slicing and padding on the cpu backend', async (_name, shape, margins) => {
    const values = fixedValues(tf.util.sizeFromShape(shape), 7);
    const want = await expected(shape, values, margins);
    const got = await padded(shape, values, margins);
    expect(got.shape).toEqual(shape.map((d, i) => d + margins[i][0] + margins[i][1]));
    expect(got.values).toEqual(want);
  });
});

test('a batch of images is padded across both threads', async () => {
  await selectBackend('wasm', { threads: 2 });
  const kernels = trainingKernels(tf.backend() as BackendWasm);
  const before = kernels.splitJobs;
  const shape = [16, 9, 9, 3];
  const margins: Margins = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const values = fixedValues(tf.util.sizeFromShape(shape), 3);
  expect((await padded(shape, values, margins)).values).toEqual(await expected(shape, values, margins));
  expect(kernels.splitJobs).toBeGreaterThan(before);
  await selectBackend('wasm', { threads: 1 });
});
