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

function cnnParams(blocks: number): number {
  let params = 0;
  let channels = 3;
  for (let i = 0; i < blocks; i++) {
    params += conv3x3(channels, 64 * 2 ** i, true);
    channels = 64 * 2 ** i;
  }
  return params + denseHead(channels);
}

const VGG16_FILTERS = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512];
const vgg16Params = VGG16_FILTERS.reduce((sum, f, i) => sum + conv3x3(i === 0 ? 3 : VGG16_FILTERS[i - 1], f, true), 0)
  + denseHead(512);

const compactParams = conv3x3(3, 24, false) + batchNorm(24)
  + conv3x3(24, 48, false) + batchNorm(48)
  + separable3x3(48, 96) + batchNorm(96) + separable3x3(96, 96) + batchNorm(96)
  + separable3x3(96, 160) + batchNorm(160) + separable3x3(160, 160) + batchNorm(160)
  + dense(2 * 160, 1);

const microParams = conv3x3(3, 8, true) + conv3x3(8, 16, false) + batchNorm(16)
  + conv3x3(16, 32, false) + batchNorm(32) + conv3x3(32, 32, false) + batchNorm(32)
  + dense(2 * 32, 1);

const EXPECTED_PARAMS: Record<string, number> = {
  'cnn-1': cnnParams(1),
  'cnn-2': cnnParams(2),
  'cnn-3': cnnParams(3),
  'cnn-4': cnnParams(4),
  vgg16: vgg16Params,
  compact: compactParams,
  micro: microParams,
};

describe('model registry', () => {
  test('registers the reference family, vgg16 and our own models', () => {
    expect([...MODEL_NAMES].sort()).toEqual(Object.keys(EXPECTED_PARAMS).sort());
  });

  test('our models stay within their size budgets', () => {
    expect(compactParams).toBeLessThan(100_000);
    expect(compactParams).toBeLessThan(vgg16Params / 100);
    expect(microParams).toBeLessThan(20_000);
  });

  test.each(Object.entries(EXPECTED_PARAMS))('%s has its documented parameter count at 100 px', (name, params) => {
    const model = buildModel(name, { inputSize: 100, seed: 1 });
    expect(model.countParams()).toBe(params);
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
    expect(attempt).toThrow(/unknown model "resnet".*cnn-1, cnn-2, cnn-3, cnn-4, vgg16, compact, micro/);
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

  test('listModels gives every model with its parameter count and a summary', () => {
    const listing = listModels(64);
    expect(listing.map(({ name, params }) => [name, params]))
      .toEqual(MODEL_NAMES.map((name) => [name, EXPECTED_PARAMS[name]]));
    for (const { summary } of listing) expect(summary.length).toBeGreaterThan(20);
  });

  test('listModels marks models that need a larger input instead of failing', () => {
    const vgg16 = listModels(16).find(({ name }) => name === 'vgg16');
    expect(vgg16).toMatchObject({ params: null, minInputSize: 32 });
  });
});
