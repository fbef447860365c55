import { readFile } from 'node:fs/promises';
import tf from '@tensorflow/tfjs';
import type { Dataset, File as H5File, Group } from 'h5wasm';
import { UserError } from '../user-error';
import { loadH5wasm, type H5 } from './h5wasm-loader';
import { VGG16_CONV_LAYERS } from './vgg16';

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Keras' ImageNet weights were trained on "caffe" input: BGR, 0-255, minus these channel means
 * (in BGR order). Our models all take RGB in [0, 1], so the loader folds this into block1_conv1.
 */
const CAFFE_BGR_MEAN = [103.939, 116.779, 123.68] as const;

interface ConvWeights {
  readonly kernel: Float32Array;
  readonly kernelShape: number[];
  readonly bias: Float32Array;
}

/**
 * Loads the 13 conv layers of a Keras VGG16 `.h5` weights file (such as
 * `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`) into a `vgg16` model, matching layers by
 * name. Every layer's shapes are checked before any weight is set, so a bad file leaves the
 * model untouched. The head keeps its initial weights.
 */
export async function loadVgg16Weights(model: tf.LayersModel, h5Path: string): Promise<void> {
  const missing = VGG16_CONV_LAYERS.filter(({ name }) => !hasLayer(model, name));
  if (missing.length > 0) throw new UserError(`--weights is for the vgg16 model; ${model.name} has no layer ${missing[0].name}`);
  const weights = await readConvWeights(model, h5Path);
  VGG16_CONV_LAYERS.forEach(({ name }, i) => {
    const w = i === 0 ? foldCaffeInput(weights[i]) : weights[i];
    const values = [tf.tensor(w.kernel, w.kernelShape), tf.tensor1d(w.bias)];
    model.getLayer(name).setWeights(values);
    tf.dispose(values);
  });
}

async function readConvWeights(model: tf.LayersModel, h5Path: string): Promise<ConvWeights[]> {
  const bytes = await readFile(h5Path).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`cannot read the weights file ${h5Path}: ${error.code ?? error.message}`);
  });
  if (!bytes.subarray(0, HDF5_SIGNATURE.length).equals(HDF5_SIGNATURE)) {
    throw new UserError(`${h5Path} is not an HDF5 file: --weights expects Keras' vgg16 ...notop.h5 weights`);
  }
  const h5 = await loadH5wasm();
  return withOpenFile(h5, bytes, (file) => {
    // A whole saved Keras model keeps its weights under model_weights; a weights-only file at the root.
    const modelWeights = file.get('model_weights');
    const root = modelWeights instanceof h5.Group ? modelWeights : file;
    return VGG16_CONV_LAYERS.map(({ name }) => {
      const weights = readLayer(h5, root, name, h5Path);
      checkShapes(model.getLayer(name), weights, h5Path);
      return weights;
    });
  });
}

let openCount = 0;

/** Copies the file into h5wasm's in-memory file system for the duration of `use`. */
function withOpenFile<T>(h5: H5, bytes: Uint8Array, use: (file: H5File) => T): T {
  const name = `/vgg16-weights-${++openCount}.h5`;
  h5.FS!.writeFile(name, bytes);
  try {
    const file = new h5.File(name, 'r');
    try {
      return use(file);
    } finally {
      file.close();
    }
  } finally {
    h5.FS!.unlink(name);
  }
}

function readLayer(h5: H5, root: Group, layer: string, h5Path: string): ConvWeights {
  const group = root.get(layer);
  if (!(group instanceof h5.Group)) {
    throw new UserError(`${h5Path} has no weights for layer ${layer}: it holds ${root.keys().join(', ') || 'nothing'}. Is it a VGG16 weights file?`);
  }
  // Keras lists a layer's weights in its weight_names attribute, as paths relative to the group.
  const names = stringsAttr(group.attrs['weight_names']?.value);
  const datasets = names.map((n) => group.get(n)).filter((d): d is Dataset => d instanceof h5.Dataset);
  const kernel = datasets.find((d) => d.shape?.length === 4);
  const bias = datasets.find((d) => d.shape?.length === 1);
  if (!kernel || !bias) {
    throw new UserError(`${h5Path}: layer ${layer} should list a 4-d kernel and a 1-d bias in weight_names, found [${names.join(', ')}]`);
  }
  return { kernel: float32(kernel, layer, h5Path), kernelShape: kernel.shape!, bias: float32(bias, layer, h5Path) };
}

function stringsAttr(value: unknown): string[] {
  const list = Array.isArray(value) ? value : value == null ? [] : [value];
  // Keras writes fixed-length byte strings, which may come back padded.
  return list.map((v) => String(v).replace(/[\0 ]+$/, ''));
}

function float32(dataset: Dataset, layer: string, h5Path: string): Float32Array {
  const value = dataset.value;
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array) return Float32Array.from(value);
  throw new UserError(`${h5Path}: ${layer}/${dataset.path} is ${dataset.dtype}, expected floating-point weights`);
}

function checkShapes(layer: tf.layers.Layer, weights: ConvWeights, h5Path: string): void {
  const [kernel, bias] = layer.getWeights().map((w) => w.shape);
  const fileShapes = [weights.kernelShape, [weights.bias.length]];
  if (String(kernel) !== String(fileShapes[0]) || String(bias) !== String(fileShapes[1])) {
    throw new UserError(
      `${h5Path}: layer ${layer.name} has kernel [${fileShapes[0]}] and bias [${fileShapes[1]}] in the file, `
      + `but the model needs [${kernel}] and [${bias}]. Use Keras' VGG16 weights without top (channels-last).`,
    );
  }
}

/**
 * Rewrites block1_conv1 so that on RGB input in [0, 1] it computes what the original computes on
 * caffe input: kernel'[.., c, o] = 255 * kernel[.., 2 - c, o] (RGB to BGR), and
 * bias'[o] = bias[o] - sum(kernel[.., c', o] * mean[c']). Only the 1-pixel border differs: our zero
 * padding is black where Keras' is the mean colour, and NIH cell images have black borders anyway.
 */
export function foldCaffeInput({ kernel, kernelShape, bias }: ConvWeights): ConvWeights {
  const [kh, kw, channels, out] = kernelShape;
  if (channels !== 3) throw new Error(`block1_conv1 must have 3 input channels, has ${channels}`);
  const folded = new Float32Array(kernel.length);
  const shift = Float64Array.from(bias);
  for (let p = 0; p < kh * kw; p++) {
    for (let c = 0; c < 3; c++) {
      for (let o = 0; o < out; o++) {
        const bgr = kernel[(p * 3 + c) * out + o];
        folded[(p * 3 + (2 - c)) * out + o] = 255 * bgr;
        shift[o] -= bgr * CAFFE_BGR_MEAN[c];
      }
    }
  }
  return { kernel: folded, kernelShape, bias: Float32Array.from(shift) };
}

function hasLayer(model: tf.LayersModel, name: string): boolean {
  return model.layers.some((layer) => layer.name === name);
}
