import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tf from '@tensorflow/tfjs';
import { UserError } from '../../../trainer/src/user-error';
import { buildModel } from '../../../trainer/src/models/registry';
import { freezeBase, VGG16_CONV_LAYERS } from '../../../trainer/src/models/vgg16';
import { loadVgg16Weights } from '../../../trainer/src/models/vgg16-weights';
import { resolveWeightsFile } from '../../../trainer/src/models/weights-source';
import { type FixtureLayer, writeKerasWeightsH5 } from './keras-h5-fixture';

let dir: string;
let layers: FixtureLayer[];
let notop: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(path.join(tmpdir(), 'vgg16-weights-'));
  layers = fixtureLayers();
  notop = path.join(dir, 'notop.h5');
  await writeKerasWeightsH5(notop, layers, ['input_1', 'block1_pool']);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Deterministic values in [-scale, scale), different for every salt. */
function values(length: number, salt: number, scale: number): Float32Array {
  const random = tf.randomUniform([length], -scale, scale, 'float32', salt);
  const data = random.dataSync() as Float32Array;
  random.dispose();
  return data;
}

/** Bitwise equality; jest's toEqual walks a 2.4M-element array one element at a time. */
function sameValues(actual: tf.Tensor, expected: Float32Array): boolean {
  const data = actual.dataSync() as Float32Array;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
    .equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength));
}

function fixtureLayers(): FixtureLayer[] {
  let inputs = 3;
  return VGG16_CONV_LAYERS.map(({ name, filters }, i) => {
    const kernelShape = [3, 3, inputs, filters];
    inputs = filters;
    return {
      name, kernelShape,
      kernel: values(9 * kernelShape[2] * filters, i + 1, 0.05),
      bias: values(filters, i + 100, 0.5),
    };
  });
}

const kernelOf = (model: tf.LayersModel, name: string): Float32Array =>
  model.getLayer(name).getWeights()[0].dataSync() as Float32Array;

describe('loadVgg16Weights', () => {
  test('loads every conv layer by name from a Keras notop file', async () => {
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });

    await loadVgg16Weights(model, notop);

    for (const layer of layers.slice(1)) {
      const [kernel, bias] = model.getLayer(layer.name).getWeights();
      expect(kernel.shape).toEqual(layer.kernelShape);
      expect(sameValues(kernel, layer.kernel)).toBe(true);
      expect(sameValues(bias, layer.bias)).toBe(true);
    }

    // block1_conv1 gets the caffe preprocessing folded in: on RGB input in [0, 1] it must give what
    // Keras' layer gives on BGR 0-255 mean-subtracted input (away from the 1-pixel padded border).
    const first = layers[0];
    const rgb = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 11);
    const conv1 = tf.model({ inputs: model.inputs, outputs: model.getLayer('block1_conv1').output as tf.SymbolicTensor });
    const [scale, error] = tf.tidy(() => {
      const caffe = tf.reverse(rgb.mul(255), -1).sub(tf.tensor1d([103.939, 116.779, 123.68])) as tf.Tensor4D;
      const kernel = tf.tensor4d(first.kernel, first.kernelShape as [number, number, number, number]);
      const interior = (t: tf.Tensor): tf.Tensor => t.slice([0, 1, 1, 0], [2, 30, 30, 64]);
      const expected = interior(tf.relu(tf.conv2d(caffe, kernel, 1, 'same').add(tf.tensor1d(first.bias))));
      const actual = interior(conv1.predict(rgb) as tf.Tensor);
      return [expected.abs().max().dataSync()[0], actual.sub(expected).abs().max().dataSync()[0]];
    });
    expect(scale).toBeGreaterThan(1);
    expect(error).toBeLessThan(scale * 1e-5);
    rgb.dispose();
    model.dispose();
  });

  test('a layer with the wrong shape is a user error naming it, and leaves the model untouched', async () => {
    const file = path.join(dir, 'wrong-shape.h5');
    await writeKerasWeightsH5(file, [layers[0], { ...layers[1], kernelShape: [3, 3, 32, 32], kernel: values(9 * 32 * 32, 5, 0.1) }]);
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
    const before = kernelOf(model, 'block1_conv1').slice();

    await expect(loadVgg16Weights(model, file)).rejects.toThrow(
      /wrong-shape\.h5: layer block1_conv2 has kernel \[3,3,32,32\].*model needs \[3,3,64,64\]/,
    );
    expect(kernelOf(model, 'block1_conv1')).toEqual(before);
    model.dispose();
  });

  test('a file missing a layer is a user error saying what the file holds', async () => {
    const file = path.join(dir, 'partial.h5');
    await writeKerasWeightsH5(file, layers.slice(0, 1));
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
    await expect(loadVgg16Weights(model, file)).rejects.toThrow(/partial\.h5 has no weights for layer block1_conv2: it holds block1_conv1/);
    model.dispose();
  });

  test.each([
    ['not HDF5', 'weights.h5', 'not an HDF5 file'],
    ['missing', 'absent.h5', 'cannot read the weights file'],
  ])('a %s file is a user error naming it', async (_case, name, message) => {
    const file = path.join(dir, name);
    if (name === 'weights.h5') await writeFile(file, '<html>404 Not Found</html>');
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
    const loading = loadVgg16Weights(model, file);
    await expect(loading).rejects.toThrow(UserError);
    await expect(loading).rejects.toThrow(file);
    await expect(loading).rejects.toThrow(message);
    model.dispose();
  });

  test('weights for another architecture are refused', async () => {
    const model = buildModel('compact', { inputSize: 32, seed: 1 });
    await expect(loadVgg16Weights(model, notop)).rejects.toThrow(/--weights is for the vgg16 model; compact has no layer block1_conv1/);
    model.dispose();
  });
});

describe('resolveWeightsFile', () => {
  test('a local path is used as it is', async () => {
    await expect(resolveWeightsFile(notop)).resolves.toBe(notop);
  });

  test('a URL is downloaded once into the cache, and the download loads', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests++;
      createReadStream(notop).pipe(response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/weights/vgg16_notop.h5`;
    const cacheDir = path.join(dir, 'cache');
    try {
      const file = await resolveWeightsFile(url, { cacheDir });
      expect(await resolveWeightsFile(url, { cacheDir })).toBe(file);
      expect(requests).toBe(1);
      expect(path.dirname(file)).toBe(cacheDir);
      const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
      await loadVgg16Weights(model, file);
      expect(sameValues(model.getLayer('block5_conv3').getWeights()[0], layers[12].kernel)).toBe(true);
      model.dispose();
    } finally {
      server.close();
    }
  });
});

describe('freezeBase', () => {
  test('freezes the 13 conv layers and leaves the head trainable', () => {
    const model = buildModel('vgg16', { inputSize: 32, seed: 1 });
    const trainableBefore = model.trainableWeights.length;
    freezeBase(model);
    expect(model.trainableWeights.map((w) => w.originalName.split('/')[0])).toEqual([
      'dense1', 'dense1', 'dense1_bn', 'dense1_bn', 'dense2', 'dense2', 'dense2_bn', 'dense2_bn', 'probability', 'probability',
    ]);
    expect(trainableBefore).toBe(26 + 10);
    model.dispose();
  });

  test('a model without a pretrained base is a user error', () => {
    const model = buildModel('micro', { inputSize: 32, seed: 1 });
    expect(() => freezeBase(model)).toThrow(/--freeze-base needs a model with a pretrained base \(vgg16\); micro has none/);
    model.dispose();
  });
});
