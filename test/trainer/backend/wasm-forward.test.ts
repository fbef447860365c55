import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { KERNEL_VARIANTS, KernelVariant } from '../../../trainer/src/backend/wasm-kernels/kernel-variant';
import { trainingKernels } from '../../../trainer/src/backend/wasm-kernels/training-kernels';
import { winogradTile } from '../../../trainer/src/backend/wasm-kernels/winograd';
import { fixedValues, mismatches, Tolerance } from './layer-gradients';

/**
 * The forward ops our kernels replace on wasm (convolutions with bias and ReLU fused, per-channel
 * arithmetic, reductions before the channels, batch moments) against TF.js's cpu kernels, on one
 * thread and on two (the larger inputs are split between them), with each build of our kernels.
 */
const TOLERANCE: Tolerance = { atol: 1e-5, rtol: 1e-5 };
/**
 * Winograd F(4x4, 3x3) rounds more (its transforms multiply by up to 8 before the products
 * cancel: about 3e-5 here): held to the gradient tests' tolerance, as its use in training is.
 */
const WINOGRAD_4X4_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-4 };

const input = (shape: number[], seed: number) => tf.tensor(fixedValues(tf.util.sizeFromShape(shape), seed), shape);

async function on(backend: string, f: () => tf.Tensor | tf.Tensor[]): Promise<Array<{ shape: number[]; values: Float32Array }>> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const result = list.map((t) => ({ shape: t.shape, values: t.dataSync() as Float32Array }));
  tf.dispose(list);
  return result;
}

let variant: KernelVariant;

async function expectSameOnBoth(f: () => tf.Tensor | tf.Tensor[], tolerance = TOLERANCE): Promise<void> {
  const reference = await on('cpu', f);
  const wasm = await on('wasm', f);
  expect(trainingKernels(tf.backend() as BackendWasm).variant).toBe(variant);
  expect(wasm.map((t) => t.shape)).toEqual(reference.map((t) => t.shape));
  for (const [i, { values }] of reference.entries()) {
    expect(values.some((v) => v !== 0)).toBe(true);
    expect(mismatches(wasm[i].values, values, tolerance)).toEqual([]);
  }
}

type Conv = [string, number[], number[], [number, number], 'same' | 'valid', 'linear' | 'relu', boolean];

const convInfo = ([, xShape, fShape, strides, pad]: Conv) => tf.backend_util.computeConv2DInfo(
  xShape as [number, number, number, number], fShape as [number, number, number, number], strides, 1, pad);
const CONVS: Conv[] = [
  ['3x3 same, bias and ReLU (a model at inference)', [2, 9, 8, 3], [3, 3, 3, 16], [1, 1], 'same', 'relu', true],
  ['3x3 valid, 11 filters on 5 channels, bias', [2, 7, 9, 5], [3, 3, 5, 11], [1, 1], 'valid', 'linear', true],
  ['3x2 kernel, strides [2, 1], same, ReLU without bias', [1, 9, 8, 4], [3, 2, 4, 6], [2, 1], 'same', 'relu', false],
  ['1x1, 32 to 40 channels', [3, 6, 6, 32], [1, 1, 32, 40], [1, 1], 'valid', 'linear', false],
  ['5x5 stride 2 on an input narrower than the kernel', [2, 9, 4, 3], [5, 5, 3, 8], [2, 2], 'same', 'relu', true],
  // Winograd: stride-1 3x3 with 16 channels or more; odd sizes end in half tiles, 18 and 19 channels in partial blocks.
  ['3x3 same, 18 to 19 channels, odd height and width, bias and ReLU (Winograd)', [2, 9, 7, 18], [3, 3, 18, 19], [1, 1], 'same', 'relu', true],
  ['3x3 valid, 24 to 16 channels (Winograd)', [3, 8, 10, 24], [3, 3, 24, 16], [1, 1], 'valid', 'linear', false],
  ['3x3 same, 16 to 24 channels, 1,024 tiles (Winograd, split across threads)', [16, 16, 16, 16], [3, 3, 16, 24], [1, 1], 'same', 'linear', true],
];

// Winograd F(4x4, 3x3): 24 channels or more on maps of 7x7 and more; sizes that end in 1, 2 and 3 pixels of a tile.
const WINOGRAD_4X4_CONVS: Conv[] = [
  ['3x3 same, 26 to 27 channels, 9x7, bias and ReLU', [2, 9, 7, 26], [3, 3, 26, 27], [1, 1], 'same', 'relu', true],
  ['3x3 valid, 24 to 48 channels, 12x10 to 10x8', [3, 12, 10, 24], [3, 3, 24, 48], [1, 1], 'valid', 'linear', false],
  ['3x3 same, 32 to 24 channels, 14x14, 256 tiles (split across threads)', [16, 14, 14, 32], [3, 3, 32, 24], [1, 1], 'same', 'relu', true],
];

const CHANNEL_OPS: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor]> = [['add', tf.add], ['sub', tf.sub], ['mul', tf.mul]];
const VECTOR_SHAPES = [[6], [1, 1, 1, 6], [1, 6], [], [1]];

function suite(threads: number, kernels: KernelVariant): void {
  beforeAll(async () => {
    await selectBackend('wasm', { threads, kernels });
    variant = kernels;
  });

  const fusedConv = ([, xShape, fShape, strides, pad, activation, withBias]: Conv) => () => tf.fused.conv2d({
    x: input(xShape, 1) as tf.Tensor4D, filter: input(fShape, 2) as tf.Tensor4D, strides, pad, activation,
    bias: withBias ? input([fShape[3]], 3) : undefined,
  });

  test.each(CONVS)('fused conv2d %s: wasm equals the cpu reference', async (...conv) => {
    await expectSameOnBoth(fusedConv(conv));
  });

  test.each(WINOGRAD_4X4_CONVS)('fused conv2d %s (Winograd F(4x4, 3x3)): wasm equals the cpu reference', async (...conv) => {
    expect(winogradTile(convInfo(conv))).toBe(4);
    await expectSameOnBoth(fusedConv(conv), WINOGRAD_4X4_TOLERANCE);
  });

  test.each([
    ['3x3 same, 6 channels, odd size', [2, 9, 7, 6], [3, 3, 6, 1], [1, 1], 'same'],
    ['3x3 valid, 8 channels', [2, 8, 8, 8], [3, 3, 8, 1], [1, 1], 'valid'],
    ['3x3 stride 2 same, even size', [2, 8, 10, 5], [3, 3, 5, 1], [2, 2], 'same'],
    ['3x2 kernel, strides [1, 2], same', [2, 8, 9, 7], [3, 2, 7, 1], [1, 2], 'same'],
    ['5x5 same on an input narrower than the kernel', [2, 6, 3, 4], [5, 5, 4, 1], [1, 1], 'same'],
    ['5x5 stride 2 same on an input narrower than the kernel', [2, 6, 3, 4], [5, 5, 4, 1], [2, 2], 'same'],
    ['3x3 same, 96 channels, 16 images (split across threads)', [16, 12, 12, 96], [3, 3, 96, 1], [1, 1], 'same'],
  ] as Array<[string, number[], number[], [number, number], 'same' | 'valid']>)('depthwise conv2d %s: wasm equals the cpu reference', async (_name, xShape, fShape, strides, pad) => {
    await expectSameOnBoth(() => tf.depthwiseConv2d(input(xShape, 13) as tf.Tensor4D, input(fShape, 14) as tf.Tensor4D, strides, pad));
  });

  describe.each(CHANNEL_OPS)('%s of an activation and a per-channel vector or scalar', (_name, op) => {
    test.each(VECTOR_SHAPES)('vector of shape %j, either way round: wasm equals the cpu reference', async (...shape) => {
      // Large enough to be split across two threads.
      await expectSameOnBoth(() => [op(input([8, 40, 40, 6], 4), input(shape, 5)), op(input(shape, 5), input([8, 40, 40, 6], 4))]);
    });
  });

  test.each([
    ['every axis but the channels', [4, 30, 30, 7], [0, 1, 2], false],
    ['every axis but the channels, keeping them', [4, 6, 5, 7], [0, 1, 2], true],
    ['height and width (a global pool), 3 channels', [4, 6, 5, 3], [1, 2], false],
    ['the rows of a matrix', [300, 9], [0], false],
  ] as Array<[string, number[], number[], boolean]>)('sum and mean over %s: wasm equals the cpu reference', async (_name, shape, axes, keepDims) => {
    await expectSameOnBoth(() => [tf.sum(input(shape, 6), axes, keepDims), tf.mean(input(shape, 6), axes, keepDims)]);
  });

  test.each([
    ['height and width (a global max pool), 7 channels, split across threads', [8, 30, 30, 7], [1, 2], false],
    ['every axis but the channels, keeping them', [4, 6, 5, 12], [0, 1, 2], true],
    ['the rows of a matrix', [300, 9], [0], false],
  ] as Array<[string, number[], number[], boolean]>)('max over %s and its gradient, ties included: wasm equals the cpu reference', async (_name, shape, axes, keepDims) => {
    await expectSameOnBoth(() => {
      // Rounded to a few levels, so that most maxima are tied: each tied element gets the whole dy.
      const x = tf.round(tf.mul(input(shape, 10), 3));
      const weights = input(tf.max(x, axes, keepDims).shape, 11);
      const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.max(t, axes, keepDims), weights)))(x);
      return [tf.max(input(shape, 10), axes, keepDims), tf.max(x, axes, keepDims), dx];
    });
  });

  test('a global max pool and its gradient run as one pass each, not through Equal, Cast and Multiply', async () => {
    await tf.setBackend('wasm');
    const x = input([4, 6, 6, 8], 12);
    const { kernelNames } = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.max(t, [1, 2])))(x));
    expect(kernelNames).toEqual(expect.arrayContaining(['Max', 'TrainingChannelMaxGrad']));
    expect(kernelNames).not.toEqual(expect.arrayContaining(['Equal']));
    x.dispose();
  });

  test.each([[[4, 30, 30, 7]], [[1, 4, 4, 16]], [[40, 3]]])('moments of %j and their gradient: wasm equals the cpu reference', async (shape) => {
    await expectSameOnBoth(() => {
      const x = input(shape, 7).add(0.5);
      const { mean, variance } = tf.moments(x, shape.slice(0, -1).map((_, i) => i));
      const channels = shape[shape.length - 1];
      const [a, b] = [input([channels], 8), input([channels], 9)];
      const dx = tf.grad((t: tf.Tensor) => {
        const m = tf.moments(t, shape.slice(0, -1).map((_, i) => i));
        return tf.sum(tf.add(tf.mul(m.mean, a), tf.mul(m.variance, b)));
      })(x);
      return [mean, variance, dx];
    });
  });
}

test.each([
  ['24 to 48 channels, 50x50 (compact)', [64, 50, 50, 24], [3, 3, 24, 48], 4],
  ['64 to 128 channels, 50x50 (cnn-2)', [64, 50, 50, 64], [3, 3, 64, 128], 4],
  ['512 to 512 channels, 12x12 (vgg16)', [8, 12, 12, 512], [3, 3, 512, 512], 4],
  ['512 to 512 channels, 6x6: as many multiplies either way (vgg16)', [8, 6, 6, 512], [3, 3, 512, 512], 2],
  ['16 to 32 channels, 25x25: too narrow to gain (micro)', [64, 25, 25, 16], [3, 3, 16, 32], 2],
  ['18 to 19 channels, 9x7', [2, 9, 7, 18], [3, 3, 18, 19], 2],
])('Winograd tiles for %s', (_name, xShape, fShape, tile) => {
  expect(winogradTile(convInfo(['', xShape as number[], fShape as number[], [1, 1], 'same', 'linear', false]))).toBe(tile);
});

describe.each(KERNEL_VARIANTS)('%s kernels', (kernels) => {
  describe('on one wasm thread', () => suite(1, kernels));
  describe('on two wasm threads', () => {
    suite(2, kernels);
    afterAll(async () => {
      await selectBackend('wasm', { threads: 1 });
    });
  });
});
