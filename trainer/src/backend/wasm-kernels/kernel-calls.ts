import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

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

/**
 * Pads with zeros; negative amounts crop. Returns x itself when there is nothing to do, so the
 * caller releases the result only when it is not x.
 */
export function padOrCrop(backend: BackendWasm, x: tf.TensorInfo, amounts: Array<[number, number]>): tf.TensorInfo {
  const padded = amounts.some(([a, b]) => a > 0 || b > 0)
    ? call(backend, tf.PadV2, { x }, { paddings: amounts.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]), constantValue: 0 })
    : x;
  if (!amounts.some(([a, b]) => a < 0 || b < 0)) return padded;
  const begin = amounts.map(([a]) => Math.max(-a, 0));
  const size = padded.shape.map((d, i) => d - begin[i] - Math.max(-amounts[i][1], 0));
  const cropped = call(backend, tf.Slice, { x: padded }, { begin, size });
  if (padded !== x) release(backend, padded);
  return cropped;
}

/** Releases intermediates, skipping any that are the kernel's own inputs. */
export function releaseExcept(backend: BackendWasm, keep: tf.TensorInfo[], ...infos: tf.TensorInfo[]): void {
  release(backend, ...infos.filter((info) => !keep.includes(info)));
}
