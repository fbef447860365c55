import tf from '@tensorflow/tfjs';
import { UserError } from '../../../trainer/src/user-error';
import { buildModel, listModels, MODEL_NAMES } from '../../../trainer/src/models/registry';
import { VGG16_CONV_LAYERS } from '../../../trainer/src/models/vgg16';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// Parameter counts from the architecture, layer by layer (batch norm keeps 4 numbers per channel:
// gamma, beta, moving mean and variance; separable convs here have no bias).
const conv3x3 = (cin: number, cout: number, bias: boolean): number => 9 * cin * cout + (bias ? cout : 0);
const batchNorm = (channels: number): number => 4 * channels;
const separable3x3 = (cin: number, cout: number): number => 9 * cin + cin * cout;
const dense = (inputs: number, units: number): number => inputs * units + units;
const denseHead = (features: number): number => dense(features, 128) + dense(128, 1);
/** The study's head: Dense(units) per position then batch norm, per block; Flatten of the last map into the output unit. */
const perPositionHead = (channels: number, units: readonly number[], side: number): number => {
  let params = 0;
  let c = channels;
  for (const u of units) [params, c] = [params + dense(c, u) + batchNorm(u), u];
  return params + dense(side * side * c, 1);
};

function cnnConvs(blocks: number): { params: number; channels: number } {
  let params = 0;
  let channels = 3;
  for (let i = 0; i < blocks; i++) {
    params += conv3x3(channels, 64 * 2 ** i, true);
    channels = 64 * 2 ** i;
  }
  return { params, channels };
}

const studyCnnParams = (blocks: number) => (size: number): number => {
  const { params, channels } = cnnConvs(blocks);
  return params + perPositionHead(channels, [128], Math.floor(size / 2 ** blocks));
};
const pooledCnnParams = (blocks: number) => (): number => {
  const { params, channels } = cnnConvs(blocks);
  return params + denseHead(channels);
};

const VGG16_FILTERS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
const vgg16BaseParams = VGG16_FILTERS.reduce((sum, f, i) => sum + conv3x3(i === 0 ? 3 : VGG16_FILTERS[i - 1], f, true), 0);
const vgg16Params = (size: number): number => vgg16BaseParams + perPositionHead(512, [256, 128], Math.floor(size / 32));

const compactParams = conv3x3(3, 24, false) + batchNorm(24)
  + conv3x3(24, 48, false) + batchNorm(48)
  + separable3x3(48, 96) + batchNorm(96) + separable3x3(96, 96) + batchNorm(96)
  + separable3x3(96, 160) + batchNorm(160) + separable3x3(160, 160) + batchNorm(160)
  + dense(2 * 160, 1);

const microParams = conv3x3(3, 8, true) + conv3x3(8, 16, false) + batchNorm(16)
  + conv3x3(16, 32, false) + batchNorm(32) + conv3x3(32, 32, false) + batchNorm(32)
  + dense(2 * 32, 1);

/** Parameter count of each registered model as a function of the input size. */
const EXPECTED_PARAMS: Record<string, (size: number) => number> = {
  'cnn-1': studyCnnParams(1),
  'cnn-2': studyCnnParams(2),
  'cnn-3': studyCnnParams(3),
  'cnn-4': studyCnnParams(4),
  vgg16: vgg16Params,
  'cnn-1-gap': pooledCnnParams(1),
  'cnn-2-gap': pooledCnnParams(2),
  'cnn-3-gap': pooledCnnParams(3),
  'cnn-4-gap': pooledCnnParams(4),
  compact: () => compactParams,
  micro: () => microParams,
};

describe('model registry', () => {
  test('registers the original study\'s five networks, our pooled variants and our own models', () => {
    expect([...MODEL_NAMES].sort()).toEqual(Object.keys(EXPECTED_PARAMS).sort());
  });

  test('our models stay within their size budgets', () => {
    expect(compactParams).toBeLessThan(100_000);
    expect(compactParams).toBeLessThan(vgg16Params(100) / 100);
    expect(microParams).toBeLessThan(20_000);
  });

  test.each(Object.entries(EXPECTED_PARAMS))('%s has its documented parameter count at 100 px', (name, params) => {
    const model = buildModel(name, { inputSize: 100, seed: 1 });
    expect(model.countParams()).toBe(params(100));
    expect(model.outputs[0].shape).toEqual([null, 1]);
    model.dispose();
  });

  test.each([...Object.keys(EXPECTED_PARAMS)])('%s predicts one probability per image', (name) => {
    const model = buildModel(name, { inputSize: 32, seed: 1 });
    const images = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 5);
    const output = model.predict(images) as tf.Tensor;
    expect(output.shape).toEqual([3, 1]);
    for (const p of output.dataSync()) {
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
    }
    tf.dispose([images, output]);
    model.dispose();
  });

  test('the same seed gives the same initial weights, another seed different ones', () => {
    const kernels = (seed: number): Float32Array[] => {
      const model = buildModel('vgg16', { inputSize: 32, seed });
      const values = ['block3_conv2', 'block3_conv3']
        .map((name) => model.getLayer(name).getWeights()[0].dataSync() as Float32Array);
      model.dispose();
      return values;
    };
    const [a, b, c] = [kernels(7), kernels(7), kernels(8)];
    expect(a).toEqual(b);
    expect(a[0]).not.toEqual(c[0]);
    // Two layers of the same shape must not start from the same values.
    expect(a[0]).not.toEqual(a[1]);
  });

  test('an unknown name is a user error listing the known models', () => {
    const attempt = (): unknown => buildModel('resnet', { inputSize: 100, seed: 1 });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(/unknown model "resnet".*cnn-1, cnn-2, cnn-3, cnn-4, vgg16, cnn-1-gap, cnn-2-gap, cnn-3-gap, cnn-4-gap, compact, micro/);
  });

  test('an input too small for the pools is a user error naming the minimum', () => {
    expect(() => buildModel('vgg16', { inputSize: 16, seed: 1 })).toThrow(/vgg16 needs --image-size of at least 32, got 16/);
  });

  test('vgg16 keeps Keras layer names, so ImageNet weights load by name', () => {
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
    const names = model.layers.map((layer) => layer.name);
    expect(VGG16_CONV_LAYERS.map((layer) => layer.name)).toEqual([
      'block1_conv1', 'block1_conv2', 'block2_conv1', 'block2_conv2',
      'block3_conv1', 'block3_conv2', 'block3_conv3', 'block4_conv1', 'block4_conv2', 'block4_conv3',
      'block5_conv1', 'block5_conv2', 'block5_conv3',
    ]);
    const base = names.filter((name) => name.startsWith('block'));
    expect(base).toEqual([
      'block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1', 'block2_conv2', 'block2_pool',
      'block3_conv1', 'block3_conv2', 'block3_conv3', 'block3_pool',
      'block4_conv1', 'block4_conv2', 'block4_conv3', 'block4_pool',
      'block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_pool',
    ]);
    model.dispose();
  });

  // The study's define_network (train.py), convolutions=2: Conv2D(64)/MaxPool/Dropout(0.5), Conv2D(128)/MaxPool/Dropout(0.5),
  // Dense(128, relu) on the 4-D map, Dropout(0.2), BatchNormalization, Flatten, Dense(1, sigmoid).
  test('cnn-2 is the original study\'s network, layer for layer, with Keras\' defaults', () => {
    const model = buildModel('cnn-2', { inputSize: 100, seed: 1 });
    const layers = model.layers.slice(1).map((layer) => {
      const config = layer.getConfig();
      return [layer.getClassName(), layer.outputShape, config.rate ?? config.activation ?? config.filters ?? null];
    });
    expect(layers).toEqual([
      ['Conv2D', [null, 100, 100, 64], 'relu'],
      ['MaxPooling2D', [null, 50, 50, 64], null],
      ['Dropout', [null, 50, 50, 64], 0.5],
      ['Conv2D', [null, 50, 50, 128], 'relu'],
      ['MaxPooling2D', [null, 25, 25, 128], null],
      ['Dropout', [null, 25, 25, 128], 0.5],
      ['Dense', [null, 25, 25, 128], 'relu'],
      ['Dropout', [null, 25, 25, 128], 0.2],
      ['BatchNormalization', [null, 25, 25, 128], null],
      ['Flatten', [null, 80000], null],
      ['Dense', [null, 1], 'sigmoid'],
    ]);
    const bn = model.layers.find((layer) => layer.getClassName() === 'BatchNormalization')!.getConfig();
    expect([bn.momentum, bn.epsilon]).toEqual([0.99, 0.001]);
    const kernels = model.layers.filter((layer) => ['Conv2D', 'Dense'].includes(layer.getClassName()))
      .map((layer) => (layer.getConfig().kernelInitializer as { config: Record<string, unknown> }).config);
    // Glorot uniform, as TF.js writes it.
    for (const kernel of kernels) expect(kernel).toMatchObject({ scale: 1, mode: 'fanAvg', distribution: 'uniform' });
    model.dispose();
  });

  test('vgg16 is the study\'s: the ImageNet base, two per-position dense blocks, Flatten', () => {
    const model = buildModel('vgg16', { inputSize: 100, seed: 1 });
    const head = model.layers.slice(model.layers.findIndex((layer) => layer.name === 'block5_pool') + 1)
      .map((layer) => [layer.getClassName(), layer.outputShape]);
    expect(head).toEqual([
      ['Dense', [null, 3, 3, 256]], ['Dropout', [null, 3, 3, 256]], ['BatchNormalization', [null, 3, 3, 256]],
      ['Dense', [null, 3, 3, 128]], ['Dropout', [null, 3, 3, 128]], ['BatchNormalization', [null, 3, 3, 128]],
      ['Flatten', [null, 1152]], ['Dense', [null, 1]],
    ]);
    model.dispose();
  });

  test('listModels gives every model with its parameter count and a summary', () => {
    const listing = listModels(64);
    expect(listing.map(({ name, params }) => [name, params]))
      .toEqual(MODEL_NAMES.map((name) => [name, EXPECTED_PARAMS[name](64)]));
    for (const { summary } of listing) expect(summary.length).toBeGreaterThan(20);
    expect(Object.fromEntries(listing.map(({ name, origin }) => [name, origin]))).toMatchObject({
      'cnn-1': 'study', 'cnn-2': 'study', 'cnn-3': 'study', 'cnn-4': 'study', vgg16: 'study', 'cnn-2-gap': 'ours', compact: 'ours', micro: 'ours',
    });
  });

  test('listModels marks models that need a larger input instead of failing', () => {
    const vgg16 = listModels(16).find(({ name }) => name === 'vgg16');
    expect(vgg16).toMatchObject({ params: null, minInputSize: 32 });
  });
});
