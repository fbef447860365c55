import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { KERNEL_VARIANTS, KernelVariant } from '../../../trainer/src/backend/wasm-kernels/kernel-variant';
import { trainingKernels } from '../../../trainer/src/backend/wasm-kernels/training-kernels';
import { fixedValues, Gradients, InputKind, layerGradients, mismatches, Tolerance } from './layer-gradients';

/**
 * Training on wasm must compute the same gradients as TF.js's reference cpu kernels, for every
 * layer our models use: same weights, same input, same loss, compared element by element, with
 * each build of our kernels (relaxed SIMD and plain SIMD), whichever this machine would pick.
 */
const TOLERANCE: Tolerance = { atol: 1e-4, rtol: 1e-4 };

type Layer = tf.layers.Layer;
type Case = [string, () => tf.LayersModel, number[], InputKind?];

/** A model of one layer (plus what it needs around it), on an input of `shape` (without batch). */
function single(shape: number[], layers: () => Layer[]): () => tf.LayersModel {
  return () => {
    const model = tf.sequential();
    model.add(tf.layers.inputLayer({ inputShape: shape }));
    for (const layer of layers()) model.add(layer);
    return model;
  };
}

const conv = (config: Partial<Parameters<typeof tf.layers.conv2d>[0]>) => tf.layers.conv2d({ filters: 4, kernelSize: 3, ...config });
const depthwise = (config: Partial<Parameters<typeof tf.layers.depthwiseConv2d>[0]>) => tf.layers.depthwiseConv2d({ kernelSize: 3, ...config });
const maxPool = (config: Parameters<typeof tf.layers.maxPooling2d>[0]) => tf.layers.maxPooling2d(config);

function residual(): tf.LayersModel {
  const input = tf.input({ shape: [7, 7, 4] });
  const branch = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([input, branch]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.reLU().apply(sum) as tf.SymbolicTensor });
}

function concatenated(): tf.LayersModel {
  const input = tf.input({ shape: [6, 6, 3] });
  const a = tf.layers.conv2d({ filters: 2, kernelSize: 1 }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  const both = tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 2, kernelSize: 3 }).apply(both) as tf.SymbolicTensor });
}

const CASES: Case[] = [
  ['Conv2D 3x3 stride 1 valid', single([9, 8, 3], () => [conv({})]), [2, 9, 8, 3]],
  ['Conv2D 3x3 stride 1 same', single([9, 8, 3], () => [conv({ padding: 'same' })]), [2, 9, 8, 3]],
  ['Conv2D 3x3 stride 2 same, odd size', single([9, 9, 3], () => [conv({ strides: 2, padding: 'same' })]), [2, 9, 9, 3]],
  ['Conv2D 3x3 stride 2 valid, even size', single([10, 8, 3], () => [conv({ strides: 2 })]), [2, 10, 8, 3]],
  ['Conv2D 5x5 stride 2 same, no bias', single([8, 8, 2], () => [conv({ kernelSize: 5, strides: 2, padding: 'same', useBias: false })]), [2, 8, 8, 2]],
  ['Conv2D 3x2 kernel, strides [2, 1], same', single([9, 8, 3], () => [conv({ kernelSize: [3, 2], strides: [2, 1], padding: 'same' })]), [2, 9, 8, 3]],
  ['Conv2D 2x3 kernel, strides [1, 2], valid', single([8, 9, 3], () => [conv({ kernelSize: [2, 3], strides: [1, 2] })]), [2, 8, 9, 3]],
  ['Conv2D 11 filters on 5 channels (partial channel blocks), ReLU', single([7, 9, 5], () => [conv({ filters: 11, padding: 'same', activation: 'relu' })]), [2, 7, 9, 5]],
  ['Conv2D batch size 1', single([9, 8, 3], () => [conv({ padding: 'same' })]), [1, 9, 8, 3]],
  ['Conv2D 1x1 stride 2', single([7, 7, 3], () => [conv({ kernelSize: 1, strides: 2 })]), [2, 7, 7, 3]],
  ['Conv2D 1x1 stride 1, 32 to 16 channels', single([8, 8, 32], () => [conv({ kernelSize: 1, filters: 16 })]), [4, 8, 8, 32]],
  ['Conv2D after Conv2D (input gradient inside the network)', single([8, 8, 2], () => [conv({ padding: 'same' }), conv({ strides: 2 })]), [2, 8, 8, 2]],
  // Winograd (stride-1 3x3, 24 channels or more: forward, input and filter gradients); odd sizes, partial channel blocks.
  ['Conv2D 3x3 same, 26 to 27 channels after Conv2D, odd size (Winograd)', single([9, 7, 3], () => [conv({ filters: 26, padding: 'same' }), conv({ filters: 27, padding: 'same', activation: 'relu' })]), [2, 9, 7, 3]],
  ['Conv2D 3x3 valid, 24 to 25 channels after Conv2D (Winograd)', single([10, 8, 3], () => [conv({ filters: 24, padding: 'same' }), conv({ filters: 25 })]), [2, 10, 8, 3]],
  ['Conv2D stride [2, 1] after Conv2D (strided input gradient)', single([9, 8, 3], () => [conv({ padding: 'same' }), conv({ kernelSize: [3, 2], strides: [2, 1], padding: 'same' })]), [2, 9, 8, 3]],
  ['DepthwiseConv2D stride 1 same', single([8, 8, 3], () => [depthwise({ padding: 'same' })]), [2, 8, 8, 3]],
  ['DepthwiseConv2D stride 1 same, 8 channels (vector path)', single([8, 8, 8], () => [depthwise({ padding: 'same' })]), [2, 8, 8, 8]],
  ['DepthwiseConv2D stride 2 valid, multiplier 2', single([9, 9, 3], () => [depthwise({ strides: 2, depthMultiplier: 2 })]), [2, 9, 9, 3]],
  ['DepthwiseConv2D stride 2 same, even size', single([8, 8, 2], () => [depthwise({ strides: 2, padding: 'same' })]), [2, 8, 8, 2]],
  ['DepthwiseConv2D 3x2 kernel, strides [1, 2], same, 6 channels', single([8, 9, 6], () => [depthwise({ kernelSize: [3, 2], strides: [1, 2], padding: 'same' })]), [2, 8, 9, 6]],
  ['DepthwiseConv2D 5x5, batch size 1', single([8, 8, 4], () => [depthwise({ kernelSize: 5, padding: 'same' })]), [1, 8, 8, 4]],
  ['SeparableConv2D stride 1 same', single([8, 8, 3], () => [tf.layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same' })]), [2, 8, 8, 3]],
  ['SeparableConv2D stride 2 valid', single([9, 9, 3], () => [tf.layers.separableConv2d({ filters: 4, kernelSize: 3, strides: 2 })]), [2, 9, 9, 3]],
  ['MaxPooling2D 2x2 valid, odd size', single([7, 7, 3], () => [maxPool({ poolSize: 2 })]), [2, 7, 7, 3]],
  ['MaxPooling2D 2x2 same, odd size', single([7, 7, 3], () => [maxPool({ poolSize: 2, padding: 'same' })]), [2, 7, 7, 3]],
  ['MaxPooling2D 3x3 stride 2 (overlapping)', single([9, 9, 2], () => [maxPool({ poolSize: 3, strides: 2 })]), [2, 9, 9, 2]],
  ['MaxPooling2D 3x2 pool, strides [2, 1]', single([9, 8, 5], () => [maxPool({ poolSize: [3, 2], strides: [2, 1] })]), [2, 9, 8, 5]],
  ['MaxPooling2D 2x2, batch size 1', single([8, 8, 4], () => [maxPool({ poolSize: 2 })]), [1, 8, 8, 4]],
  // 6 and 5 channels: four at a time, then the rest one by one.
  ['MaxPooling2D 2x2 on tied values (first maximum wins)', single([8, 8, 6], () => [maxPool({ poolSize: 2 })]), [2, 8, 8, 6], 'ties'],
  ['MaxPooling2D 3x3 stride 2 on tied values', single([9, 9, 5], () => [maxPool({ poolSize: 3, strides: 2, padding: 'same' })]), [2, 9, 9, 5], 'ties'],
  ['MaxPooling2D 2x2 on NaN and -Infinity', single([8, 8, 5], () => [maxPool({ poolSize: 2 })]), [2, 8, 8, 5], 'extremes'],
  ['MaxPooling2D 3x3 stride 2 same on NaN and -Infinity', single([9, 9, 5], () => [maxPool({ poolSize: 3, strides: 2, padding: 'same' })]), [2, 9, 9, 5], 'extremes'],
  ['MaxPooling2D after ReLU (ties at zero)', single([8, 8, 3], () => [conv({ padding: 'same', activation: 'relu' }), maxPool({ poolSize: 2 })]), [2, 8, 8, 3]],
  ['AveragePooling2D 2x2 valid', single([8, 7, 3], () => [tf.layers.averagePooling2d({ poolSize: 2 })]), [2, 8, 7, 3]],
  ['AveragePooling2D 3x3 stride 2 same', single([9, 9, 3], () => [tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' })]), [2, 9, 9, 3]],
  ['GlobalAveragePooling2D', single([5, 6, 4], () => [conv({ padding: 'same' }), tf.layers.globalAveragePooling2d({})]), [3, 5, 6, 4]],
  ['GlobalMaxPooling2D', single([5, 6, 4], () => [conv({ padding: 'same' }), tf.layers.globalMaxPooling2d({})]), [3, 5, 6, 4]],
  ['BatchNormalization (training)', single([6, 6, 3], () => [conv({ padding: 'same', useBias: false }), tf.layers.batchNormalization()]), [4, 6, 6, 3]],
  ['BatchNormalization (training), 8 channels, batch size 1', single([6, 6, 8], () => [tf.layers.batchNormalization()]), [1, 6, 6, 8]],
  ['BatchNormalization after DepthwiseConv2D, then ReLU', single([8, 8, 3], () => [
    depthwise({ padding: 'same', useBias: false }), tf.layers.batchNormalization(), tf.layers.reLU(),
  ]), [3, 8, 8, 3]],
  ['BatchNormalization (training) after Dense, rank 2', single([12], () => [tf.layers.dense({ units: 6 }), tf.layers.batchNormalization()]), [5, 12]],
  ['Flatten + Dense + sigmoid', single([4, 4, 3], () => [tf.layers.flatten(), tf.layers.dense({ units: 5, activation: 'sigmoid' })]), [3, 4, 4, 3]],
  ['Dense relu6 + Dense', single([12], () => [tf.layers.dense({ units: 8, activation: 'relu6' }), tf.layers.dense({ units: 2 })]), [5, 12]],
  ['Dropout (seeded) + Dense', single([12], () => [tf.layers.dropout({ rate: 0.5, seed: 3 }), tf.layers.dense({ units: 3 })]), [5, 12]],
  ['ELU layer', single([6, 6, 3], () => [conv({ padding: 'same' }), tf.layers.elu()]), [2, 6, 6, 3]],
  ['ReLU layer', single([6, 6, 3], () => [conv({ padding: 'same' }), tf.layers.reLU()]), [2, 6, 6, 3]],
  ['Add (residual block)', residual, [2, 7, 7, 4]],
  ['Concatenate', concatenated, [2, 6, 6, 3]],
];

/**
 * The checks every case makes: same loss (unless the input holds NaN, where the forward max pool
 * of each backend may keep or drop it), same tensors, each carrying signal, each element close.
 */
function expectSameGradients(wasm: Gradients, reference: Gradients, input: InputKind): void {
  if (input !== 'extremes') {
    expect(Math.abs(wasm.loss - reference.loss)).toBeLessThanOrEqual(TOLERANCE.atol + TOLERANCE.rtol * Math.abs(reference.loss));
  }
  expect(wasm.tensors.map((t) => t.name)).toEqual(reference.tensors.map((t) => t.name));
  for (const [i, { name, values }] of reference.tensors.entries()) {
    // Every gradient must carry signal, or the comparison proves nothing.
    expect({ name, nonZero: values.some((v) => v !== 0 && !Number.isNaN(v)) }).toEqual({ name, nonZero: true });
    expect({ name, mismatches: mismatches(wasm.tensors[i].values, values, TOLERANCE) }).toEqual({ name, mismatches: [] });
  }
}

async function compare(build: () => tf.LayersModel, inputShape: number[], input: InputKind, variant: KernelVariant): Promise<void> {
  const reference = await layerGradients('cpu', build, inputShape, input);
  const wasm = await layerGradients('wasm', build, inputShape, input);
  expect(trainingKernels(tf.backend() as BackendWasm).variant).toBe(variant);
  expectSameGradients(wasm, reference, input);
}

/** Trains a conv + batch norm model a few steps; its weights (batch norm's moving statistics among them) and predictions. */
async function trainBriefly(backend: string): Promise<{ weights: Float32Array[]; predictions: Float32Array }> {
  await tf.setBackend(backend);
  const model = single([8, 8, 3], () => [conv({ padding: 'same', useBias: false }), tf.layers.batchNormalization({ momentum: 0.5 }), tf.layers.reLU(),
    tf.layers.flatten(), tf.layers.dense({ units: 1, activation: 'sigmoid' })])();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(fixedValues(w.size, 200 + i), w.shape)));
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'binaryCrossentropy' });
  const x = tf.tensor(fixedValues(16 * 8 * 8 * 3, 7), [16, 8, 8, 3]);
  const y = tf.tensor(Array.from({ length: 16 }, (_, i) => i % 2), [16, 1]);
  for (let i = 0; i < 3; i++) await model.trainOnBatch(x, y);
  const result = { weights: model.getWeights().map((w) => w.dataSync() as Float32Array), predictions: (model.predict(x) as tf.Tensor).dataSync() as Float32Array };
  tf.dispose([x, y]);
  model.dispose();
  return result;
}

describe.each(KERNEL_VARIANTS)('%s kernels', (variant) => {
  describe('on one wasm thread', () => {
    beforeAll(async () => {
      await selectBackend('wasm', { threads: 1, kernels: variant });
    });

    test('BatchNormalization in training differentiates through its moments in one node: no moments gradient, no Add of the paths', async () => {
      await tf.setBackend('wasm');
      const model = single([6, 6, 8], () => [tf.layers.batchNormalization()])();
      const x = tf.variable(tf.randomNormal([4, 6, 6, 8], 0, 1, 'float32', 1));
      const { kernelNames } = await tf.profile(() => tf.variableGrads(() => tf.sum(tf.square(model.apply(x, { training: true }) as tf.Tensor)), [x]).grads[x.name]);
      expect(kernelNames).toContain('TrainingBatchNormGrad');
      expect(kernelNames).not.toContain('TrainingMomentsGrad');
      expect(kernelNames).not.toContain('Add');
      x.dispose();
      model.dispose();
    });

    // `input` has a default: jest takes a declared parameter beyond a row's length for a done callback.
    test.each(CASES)('%s: wasm gradients equal the cpu reference', async (_name, build, inputShape, input = 'smooth') => {
      await compare(build, inputShape, input, variant);
    });
  });

  describe('on two wasm threads (our kernels split across a helper thread)', () => {
    const LARGER: Case[] = [
      ['MaxPooling2D 2x2', single([30, 30, 8], () => [maxPool({ poolSize: 2 })]), [16, 30, 30, 8], 'smooth'],
      ['MaxPooling2D 3x3 stride 2 same on NaN and -Infinity', single([23, 23, 5], () => [maxPool({ poolSize: 3, strides: 2, padding: 'same' })]), [16, 23, 23, 5], 'extremes'],
      ['BatchNormalization (training), then ReLU', single([30, 30, 8], () => [tf.layers.batchNormalization(), tf.layers.reLU()]), [16, 30, 30, 8], 'smooth'],
      ['Conv2D 3x3 same, 24 to 24 channels, 1,024 tiles (Winograd)', single([16, 16, 24], () => [conv({ filters: 24, padding: 'same' })]), [16, 16, 16, 24], 'smooth'],
    ];
    const SPLIT = new Set(['Conv2D 3x2 kernel, strides [2, 1], same', 'Conv2D 11 filters on 5 channels (partial channel blocks), ReLU',
      'Conv2D stride [2, 1] after Conv2D (strided input gradient)', 'DepthwiseConv2D 3x2 kernel, strides [1, 2], same, 6 channels',
      'SeparableConv2D stride 1 same', 'MaxPooling2D 2x2 on NaN and -Infinity', 'BatchNormalization after DepthwiseConv2D, then ReLU',
      'GlobalAveragePooling2D']);

    beforeAll(async () => {
      await selectBackend('wasm', { threads: 2, kernels: variant });
    });
    afterAll(async () => {
      await selectBackend('wasm', { threads: 1 });
    });

    test('training steps with batch norm leave the same weights, moving statistics and predictions on wasm as on cpu', async () => {
      const reference = await trainBriefly('cpu');
      const wasm = await trainBriefly('wasm');
      expect(trainingKernels(tf.backend() as BackendWasm).variant).toBe(variant);
      expect(wasm.weights.length).toBe(reference.weights.length);
      for (const [i, values] of reference.weights.entries()) {
        expect({ weight: i, mismatches: mismatches(wasm.weights[i], values, TOLERANCE) }).toEqual({ weight: i, mismatches: [] });
      }
      expect(mismatches(wasm.predictions, reference.predictions, TOLERANCE)).toEqual([]);
    });

    test.each([...CASES.filter(([name]) => SPLIT.has(name)), ...LARGER])('%s: wasm gradients equal the cpu reference', async (_name, build, inputShape, input = 'smooth') => {
      await tf.setBackend('wasm');
      const kernels = trainingKernels(tf.backend() as BackendWasm);
      expect(kernels.threads).toBe(2);
      const splitBefore = kernels.splitJobs;
      await compare(build, inputShape, input, variant);
      // Some of the work really ran on the helper thread.
      expect(kernels.splitJobs).toBeGreaterThan(splitBefore);
    });
  });
});
