import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { trainingKernels } from './training-kernels';

type Attrs = Record<string, unknown>;

/** What the engine passes a kernel, with its inputs and attributes typed. */
export interface KernelArgs<I extends string, A> {
  readonly inputs: Record<I, tf.TensorInfo>;
  readonly backend: BackendWasm;
  readonly attrs: A;
}

/**
 * Runs another wasm kernel from inside a kernel: no engine bookkeeping and no gradient tape, so
 * the caller disposes every intermediate result with `release`.
 */
export function call(backend: BackendWasm, kernelName: string, inputs: Record<string, tf.TensorInfo>, attrs: Attrs = {}): tf.TensorInfo {
  const kernel = tf.getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`wasm kernel ${kernelName} is not registered`);
  return kernel.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

export function release(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function transpose(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return call(backend, tf.Transpose, { x }, { perm });
}

export function reshape(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return call(backend, tf.Reshape, { x }, { shape });
}

/** Per-axis [before, after] amounts: positive pads with zeros, negative crops. */
export type Margins = Array<[number, number]>;

/**
 * Applies the negative margins (a crop) and returns the positive ones, for a convolution to pad
 * with zeros itself (explicit padding) instead of copying into a padded tensor. Returns x itself
 * when nothing is cropped, so the caller releases the result only when it is not x.
 */
export function cropForConv(backend: BackendWasm, x: tf.TensorInfo, margins: Margins): { input: tf.TensorInfo; pad: Margins } {
  const pad = margins.map(([a, b]): [number, number] => [Math.max(a, 0), Math.max(b, 0)]);
  if (!margins.some(([a, b]) => a < 0 || b < 0)) return { input: x, pad };
  const begin = margins.map(([a]) => Math.max(-a, 0));
  const size = x.shape.map((d, i) => d - begin[i] - Math.max(-margins[i][1], 0));
  return { input: call(backend, tf.Slice, { x }, { begin, size }), pad };
}

/** Pads with zeros and crops, into a new tensor (or x itself when there is nothing to do). */
export function padOrCrop(backend: BackendWasm, x: tf.TensorInfo, margins: Margins): tf.TensorInfo {
  const { input, pad } = cropForConv(backend, x, margins);
  if (!pad.some(([a, b]) => a > 0 || b > 0)) return input;
  const padded = padsImagesOnly(input, pad) ? padImages(backend, input, pad) : call(backend, tf.PadV2, { x: input }, { paddings: pad, constantValue: 0 });
  if (input !== x) release(backend, input);
  return padded;
}

/** Whether `pad` pads only the rows and columns of NHWC images, as convolutions do. */
function padsImagesOnly(x: tf.TensorInfo, pad: Margins): boolean {
  return x.shape.length === 4 && pad[0][0] === 0 && pad[0][1] === 0 && pad[3][0] === 0 && pad[3][1] === 0 && x.dtype === 'float32';
}

/** Zero rows and columns around each image, by our kernel split across the threads: TF.js's PadV2, element by element, took 13 ms for 64 RGB images of 100x100 where this takes 0.4. */
function padImages(backend: BackendWasm, x: tf.TensorInfo, pad: Margins): tf.TensorInfo {
  const [batch, h, w, c] = x.shape;
  const [[pt, pb], [pl, pr]] = [pad[1], pad[2]];
  const y = backend.makeOutput([batch, pt + h + pb, pl + w + pr, c], 'float32');
  const kernels = trainingKernels(backend);
  kernels.run('pad_images', [kernels.pointer(x), kernels.pointer(y), batch, h, w, c, pt, pb, pl, pr],
    Math.min(kernels.threads, batch * (pt + h + pb)));
  return y;
}

/** Releases intermediates, skipping any that are the kernel's own inputs. */
export function releaseExcept(backend: BackendWasm, keep: tf.TensorInfo[], ...infos: tf.TensorInfo[]): void {
  release(backend, ...infos.filter((info) => !keep.includes(info)));
}
