import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tf from '@tensorflow/tfjs';
import { decodeImage } from '../../../../../trainer/src/data/decode';
import { encodePng, PngColorType } from '../../../../../trainer/src/data/png-encode';
import { saveModel } from '../../../../../trainer/src/models/model-files';
import { defaultPreprocessing } from '../../../../../trainer/src/models/preprocessing';
import { buildModel, MODEL_NAMES } from '../../../../../trainer/src/models/registry';
import { createModelPredictor } from '../../../../../trainer/src/serve/model-predictor';
import { pythonSkipReason, pythonVenv, runPython, VENV_TIMEOUT_MS, type PythonVenv } from '../../../../support/python-venv';

/**
 * The loader every logged model carries (code/malaria_mlops_pyfunc), run by a real Keras 3 (JAX
 * backend) in the venv a data scientist would have, against what the trainer itself computes:
 * the same networks, the same pixels, the same probabilities.
 */

const skip = pythonSkipReason();
const describePython = skip ? (title: string, body: () => void) => describe.skip(`${title} (SKIPPED: ${skip})`, body) : describe;

let work: string;
let venv: PythonVenv;
beforeAll(async () => {
  await tf.setBackend('cpu');
  work = await mkdtemp(path.join(tmpdir(), 'pyfunc-loader-'));
  if (!skip) venv = await pythonVenv();
}, VENV_TIMEOUT_MS);
afterAll(() => rm(work, { recursive: true, force: true }));

async function python<T>(command: string, job: unknown): Promise<T> {
  const result = await runPython(venv, 'driver.py', [command], JSON.stringify(job));
  if (result.code !== 0) throw new Error(`driver.py ${command} exited ${result.code}:\n${result.stderr.slice(-3000)}`);
  return JSON.parse(result.stdout) as T;
}

/** Trained-looking weights: batch norm's statistics and scales, and the biases, away from their initial 0 and 1. */
function perturb(model: tf.LayersModel, seed: number): void {
  model.setWeights(model.weights.map((w, i) => {
    const value = w.read();
    const shape = value.shape;
    const name = w.originalName;
    if (/gamma|moving_variance/.test(name)) return tf.randomUniform(shape, 0.5, 1.5, 'float32', seed + i);
    if (/beta|moving_mean|bias/.test(name)) return tf.randomUniform(shape, -0.2, 0.2, 'float32', seed + i);
    return value;
  }));
}

const SIZE = 32;
const IMAGES = 3;

/** A model saved as the trainer saves one, and its TF.js outputs for random images. */
async function savedWithOutputs(name: string, model: tf.LayersModel): Promise<{ dir: string; inputs: number[]; outputs: number[] }> {
  perturb(model, 7);
  const dir = path.join(work, name);
  await saveModel(model, dir, defaultPreprocessing(name, SIZE));
  const x = tf.randomUniform([IMAGES, SIZE, SIZE, 3], 0, 1, 'float32', 11);
  const y = model.predict(x) as tf.Tensor;
  const result = { dir, inputs: Array.from(await x.data()), outputs: Array.from(await y.data()) };
  tf.dispose([x, y]);
  model.dispose();
  return result;
}

/**
 * The reference CNNs' layers as the original study has them: Conv/MaxPool/Dropout blocks, then
 * Dense(128) applied at every position of the 4-D map, Dropout, BatchNormalization, Flatten and
 * the sigmoid unit; and a depthwise-separable convolution with a bias.
 */
function referenceLayers(): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3], name: 'image' });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'conv1' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.25, name: 'dropout1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'sep1' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2, name: 'pool2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ units: 16, activation: 'relu', name: 'dense_per_position' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.5, name: 'dropout2' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'bn' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({ units: 1, activation: 'sigmoid', name: 'probability' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: output, name: 'reference-layers' });
}

/** A PNG whose pixels vary smoothly and noisily, of any colour type. */
async function testPng(width: number, height: number, colorType: PngColorType, seed: number, bitDepth: 8 | 16 = 8): Promise<Uint8Array> {
  const channels = { [PngColorType.grey]: 1, [PngColorType.rgb]: 3, [PngColorType.palette]: 1, [PngColorType.greyAlpha]: 2, [PngColorType.rgba]: 4 }[colorType];
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const data = new Uint8Array(width * height * channels * (bitDepth / 8));
  for (let i = 0; i < data.length; i++) {
    const x = (i / channels) % width;
    data[i] = Math.max(0, Math.min(255, Math.round(128 + 90 * Math.sin(x / 7 + (i % channels)) + 60 * (random() - 0.5))));
  }
  const palette = colorType === PngColorType.palette ? Uint8Array.from({ length: 768 }, () => Math.floor(random() * 256)) : undefined;
  return encodePng({ width, height, colorType, data, palette, bitDepth });
}

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describePython('the python_function loader in Python (Keras 3, JAX, a real venv)', () => {
  test('Keras rebuilds every registered architecture from model.json and gives TF.js\' probabilities', async () => {
    const models = [];
    for (const name of MODEL_NAMES) models.push({ name, ...(await savedWithOutputs(name, buildModel(name, { inputSize: SIZE, seed: 3 }))) });
    const { outputs } = await python<{ outputs: number[][] }>('network', {
      models: models.map((m) => ({ dir: m.dir, inputs: m.inputs, shape: [IMAGES, SIZE, SIZE, 3] })),
    });
    models.forEach((m, i) => {
      // Weights that saturate the sigmoid would hide differences: the probabilities must be in play.
      expect({ name: m.name, inPlay: m.outputs.some((p) => p > 1e-3 && p < 1 - 1e-3) }).toEqual({ name: m.name, inPlay: true });
      const worst = Math.max(...m.outputs.map((p, k) => Math.abs(p - outputs[i][k])));
      expect({ name: m.name, worst }).toEqual({ name: m.name, worst: expect.any(Number) });
      expect(worst).toBeLessThan(1e-5);
    });
  }, 900_000);

  test('Dense on a 4-D map, Dropout, BatchNormalization, Flatten and SeparableConv2D with a bias rebuild as TF.js runs them', async () => {
    const model = await savedWithOutputs('reference-layers', referenceLayers());
    const { outputs } = await python<{ outputs: number[][] }>('network', { models: [{ dir: model.dir, inputs: model.inputs, shape: [IMAGES, SIZE, SIZE, 3] }] });
    expect(model.outputs.some((p) => p > 1e-3 && p < 1 - 1e-3)).toBe(true);
    outputs[0].forEach((p, k) => expect(Math.abs(p - model.outputs[k])).toBeLessThan(1e-5));
  }, 300_000);

  test('images decode and resize to the very bytes the trainer gives the model: every 8-bit colour type, shrunk, enlarged, stretched, with alpha', async () => {
    const cases: { png: Uint8Array; size: number; what: string }[] = [];
    const shapes: [number, number, PngColorType, number][] = [
      [137, 151, PngColorType.rgb, 50], [50, 50, PngColorType.grey, 50], [50, 50, PngColorType.grey, 64], [90, 130, PngColorType.rgba, 100],
      [200, 180, PngColorType.rgb, 64], [33, 41, PngColorType.greyAlpha, 100], [120, 100, PngColorType.palette, 50], [9, 300, PngColorType.rgb, 32],
      [240, 7, PngColorType.rgba, 128], [64, 64, PngColorType.rgb, 64],
    ];
    for (const [i, [width, height, colorType, size]] of shapes.entries()) {
      cases.push({ png: await testPng(width, height, colorType, i + 1), size, what: `${width}x${height} colour type ${colorType} to ${size}` });
    }
    cases.push({ png: await testPng(70, 60, PngColorType.grey, 99, 16), size: 50, what: '16-bit grey 70x60 to 50' });
    const { rgb } = await python<{ rgb: string[] }>('decode', { images: cases.map((c) => ({ png: b64(c.png), size: c.size })) });
    for (const [i, c] of cases.entries()) {
      const expected = Buffer.from(await decodeImage(c.png, c.size));
      const got = Buffer.from(rgb[i], 'base64');
      const differing = got.reduce((n, v, k) => n + (v === expected[k] ? 0 : 1), 0);
      expect({ image: c.what, differing }).toEqual({ image: c.what, differing: 0 });
    }
  }, 300_000);

  test.each([true, false])('scores PNGs as `npm run serve` does (test-time augmentation %s): same probabilities, labels at the run\'s threshold', async (tta) => {
    const model = buildModel('micro', { inputSize: SIZE, seed: 5 });
    perturb(model, 13);
    const pngs = await Promise.all([[40, 44, PngColorType.rgb], [32, 32, PngColorType.grey], [61, 50, PngColorType.rgba], [28, 30, PngColorType.palette]]
      .map(([w, h, type], i) => testPng(w, h, type as PngColorType, 20 + i)));
    const preprocessing = defaultPreprocessing('micro', SIZE, 0.5, tta);
    const expected = Array.from(await createModelPredictor(model, preprocessing)(await Promise.all(pngs.map((png) => decodeImage(png, SIZE)))));
    // A threshold between the probabilities, so that both labels occur.
    const sorted = [...expected].sort((a, b) => a - b);
    const threshold = (sorted[1] + sorted[2]) / 2;
    const dir = path.join(work, `micro-tta-${tta}`);
    await saveModel(model, dir, { ...preprocessing, threshold });
    model.dispose();

    const { results } = await python<{ results: { probability: number; label: string }[][] }>('classify', {
      model: dir, cases: [{ images: pngs.map((png) => ({ png: b64(png) })) }, { images: pngs.map((png) => ({ text: b64(png) })) }],
    });
    for (const records of results) {
      records.forEach((record, i) => {
        expect(Math.abs(record.probability - expected[i])).toBeLessThan(1e-5);
        expect(record.label).toBe(expected[i] >= threshold ? 'Parasitized' : 'Uninfected');
      });
    }
  }, 300_000);

  test('refuses what it cannot score, naming the image and what was expected, and warns about oblong cells', async () => {
    const dir = path.join(work, 'micro-contract');
    await saveModel(buildModel('micro', { inputSize: SIZE, seed: 1 }), dir, defaultPreprocessing('micro', SIZE));
    const square = { png: b64(await testPng(40, 40, PngColorType.rgb, 1)) };
    const oblong = { png: b64(await testPng(40, 80, PngColorType.rgb, 2)) };
    const strip = { png: b64(await testPng(20, 80, PngColorType.rgb, 3)) };
    const grey = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => [128, 128, 128]));
    const half = Array.from({ length: 4 }, () => Array.from({ length: 4 }, () => [0.5, 0.5, 0.5]));
    const { results } = await python<{ results: ({ error: string; message: string } | { probability: number; label: string; warning?: string | null }[])[] }>('classify', {
      model: dir,
      cases: [
        { images: [square, oblong] },
        { images: [square, strip] },
        { images: [square, { text: 'bm90IGFuIGltYWdl' }] },
        { images: [square, { text: 'not base64!' }] },
        { images: [half] },
        { images: [half], params: { pixel_range: '0-1' } },
        { images: [grey] },
        { images: [] },
      ],
    });
    const [warned, refused, notImage, notBase64, undeclared, declared, greyArray, none] = results;
    expect(warned).toEqual([
      expect.objectContaining({ warning: null }),
      expect.objectContaining({ warning: 'image is 40x80 px (aspect ratio 2.00); stretched to a square for the model, the cell is distorted (best under 1.5:1)' }),
    ]);
    expect(refused).toEqual({ error: 'MlflowException', message: expect.stringContaining('image 1: 20x80 px (aspect ratio 4.00) is too far from square (more than 3:1)') });
    expect(notImage).toEqual({ error: 'MlflowException', message: 'image 1: not a PNG or JPEG image (its first bytes are 6e 6f 74 20)' });
    expect(notBase64).toEqual({ error: 'MlflowException', message: 'image 1: neither PNG/JPEG bytes nor valid base64; expected a PNG or JPEG image' });
    expect(undeclared).toEqual({ error: 'MlflowException', message: expect.stringContaining('image 0: pixel [0][0][0] is 0.5; expected integers from 0 to 255') });
    // 0.5 of 255 rounds to 128: the same image as the grey one of 0-255 integers.
    expect((declared as { probability: number }[])[0].probability).toBeCloseTo((greyArray as { probability: number }[])[0].probability, 6);
    expect(none).toEqual({ error: 'MlflowException', message: 'no images; send at least one' });
  }, 300_000);
});
