import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';

type ReductionAttrs = tf.SumAttrs & tf.MeanAttrs & tf.MaxAttrs;

/** x seen as [outer, rows, channels] when `axes` are the axes just before the channels. */
export interface ChannelRows {
  readonly outer: number;
  readonly rows: number;
  readonly channels: number;
}

/** Whether a reduction of x over `axes` reduces the axes just before the channels, and their layout if so. */
export function channelRows(shape: readonly number[], axes: readonly number[]): ChannelRows | undefined {
  const sorted = [...axes].sort((a, b) => a - b);
  const rank = shape.length;
  const contiguous = sorted.every((axis, i) => i === 0 || axis === sorted[i - 1] + 1);
  if (sorted.length === 0 || !contiguous || sorted[sorted.length - 1] !== rank - 2) return undefined;
  return {
    outer: tf.util.sizeFromShape(shape.slice(0, sorted[0])),
    rows: tf.util.sizeFromShape(sorted.map((axis) => shape[axis])),
    channels: shape[rank - 1],
  };
}

/**
 * Sum, Mean and Max over the axes just before the channels (batch norm's moments and the sums in
 * its gradient, bias gradients, global average and max pools) as one pass of our SIMD kernels
 * (simd/channels.c): TF.js's wasm reductions first transpose the reduced axes innermost, a full
 * copy. Other reductions go to TF.js's kernel.
 */
export function channelReduction(kind: 'sum' | 'mean' | 'max') {
  return (original: tf.KernelFunc) => (args: KernelArgs<'x', ReductionAttrs>): tf.TensorInfo => {
    const { backend, inputs: { x } } = args;
    const axes = tf.util.parseAxisParam(kind === 'max' ? args.attrs.reductionIndices : args.attrs.axis, x.shape);
    const layout = channelRows(x.shape, axes);
    if (x.dtype !== 'float32' || !layout || layout.rows < 2) {
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const { outer, rows, channels } = layout;
    const outerShape = x.shape.slice(0, Math.min(...axes));
    const shape = args.attrs.keepDims ? [...outerShape, ...axes.map(() => 1), channels] : [...outerShape, channels];
    const out = backend.makeOutput(shape, 'float32');
    if (kind === 'max') {
      const kernels = trainingKernels(backend);
      kernels.run('channel_max', [kernels.pointer(x), kernels.pointer(out), outer, rows, channels], Math.min(kernels.threads, outer));
    } else {
      sumRows(backend, x, outer, rows, channels, kind === 'mean' ? 1 / rows : 1, out);
    }
    return out;
  };
}

/** out[o, c] = scale * sum over r of x[o, r, c], x seen as [outer, rows, channels]. */
export function sumRows(backend: BackendWasm, x: tf.TensorInfo, outer: number, rows: number, channels: number, scale: number, out: tf.TensorInfo): void {
  const kernels = trainingKernels(backend);
  // A single outer index (batch norm) splits its rows across the threads, each summing its own.
  const splits = outer === 1 ? Math.min(kernels.threads, Math.ceil(rows / 1024)) : 1;
  const parts = Math.min(kernels.threads, outer * splits);
  if (splits === 1) {
    kernels.run('channel_sums', [kernels.pointer(x), kernels.pointer(out), outer, rows, channels, scale, 1], parts);
    return;
  }
  const acc = kernels.malloc(splits * channels * 4);
  try {
    kernels.run('channel_sums', [kernels.pointer(x), acc, 1, rows, channels, scale, splits], parts);
    kernels.run('add_parts', [acc, kernels.pointer(out), channels, splits]);
  } finally {
    kernels.free(acc);
  }
}

/**
 * A float32 binary op between a tensor and a per-channel vector ([C], [1, 1, 1, C], ...) or a
 * scalar, as one pass of channel_affine (y = x * scale + shift): XNNPACK broadcasts a short
 * innermost vector slowly (an Add of [64, 100, 100, 8] and [8] costs 3x one of equal shapes).
 * a - v is a + (-v) and v - a is a * -1 + v, exactly as IEEE subtraction; other shapes go to
 * TF.js's kernel.
 */
export function perChannelBinary(kind: 'add' | 'sub' | 'mul') {
  return (original: tf.KernelFunc) => (args: KernelArgs<'a' | 'b', Record<string, never>>): tf.TensorInfo => {
    const { backend, inputs: { a, b } } = args;
    const run = () => original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    if (a.dtype !== 'float32' || b.dtype !== 'float32' || tf.util.arraysEqual(a.shape, b.shape)) return run();
    const vectorIsB = perChannel(b, a);
    if (!vectorIsB && !perChannel(a, b)) return run();
    const [full, vector] = vectorIsB ? [a, b] : [b, a];
    const count = tf.util.sizeFromShape(vector.shape);
    const negated = () => backend.makeOutput([count], 'float32', undefined, (backend.typedArrayFromHeap(vector) as Float32Array).map((v) => -v));
    const minusOnes = () => backend.makeOutput([count], 'float32', undefined, new Float32Array(count).fill(-1));
    if (kind === 'mul') return affine(backend, full, vector, undefined);
    if (kind === 'add') return affine(backend, full, undefined, vector);
    const made = vectorIsB ? [negated()] : [minusOnes()];
    try {
      return vectorIsB ? affine(backend, full, undefined, made[0]) : affine(backend, full, made[0], vector);
    } finally {
      for (const t of made) backend.disposeData(t.dataId);
    }
  };
}

/** Whether v broadcasts against x as one value per channel (or one value in all). */
function perChannel(v: tf.TensorInfo, x: tf.TensorInfo): boolean {
  const size = tf.util.sizeFromShape(v.shape);
  if (v.shape.length > x.shape.length || x.shape.length === 0) return false;
  if (size === 1) return true;
  const channels = x.shape[x.shape.length - 1];
  return size === channels && v.shape[v.shape.length - 1] === channels;
}

/**
 * (x - center) * scale + shift per channel: each of center, scale and shift holds one value per
 * channel (or, without a center, one in all), or is absent.
 */
export function affine(
  backend: BackendWasm, x: tf.TensorInfo, scale: tf.TensorInfo | undefined, shift: tf.TensorInfo | undefined, center?: tf.TensorInfo,
): tf.TensorInfo {
  const kernels = trainingKernels(backend);
  const out = backend.makeOutput(x.shape, 'float32');
  const n = tf.util.sizeFromShape(x.shape);
  const vector = center ?? scale ?? shift!;
  const channels = tf.util.sizeFromShape(vector.shape) === 1 && !center ? 1 : x.shape[x.shape.length - 1];
  const pointer = (t: tf.TensorInfo | undefined) => (t ? kernels.pointer(t) : 0);
  kernels.run('channel_affine', [
    kernels.pointer(x), pointer(center), pointer(scale), pointer(shift), kernels.pointer(out), n / channels, channels,
  ], kernels.partsFor(n));
  return out;
}

/**
 * Per channel of x (rows of channels): [sum of dy, sum of dy * (x - mean)], or without dy
 * [0, sum of (x - mean)^2], added up from this thread's and the helpers' partial sums.
 */
export function centeredSums(backend: BackendWasm, dy: tf.TensorInfo | undefined, x: tf.TensorInfo, mean: tf.TensorInfo): Float32Array {
  const kernels = trainingKernels(backend);
  const channels = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / channels;
  const parts = Math.min(kernels.threads, Math.ceil(rows / 1024));
  const acc = kernels.malloc(parts * 2 * channels * 4);
  const both = backend.makeOutput([2 * channels], 'float32');
  try {
    kernels.run('centered_sums', [dy ? kernels.pointer(dy) : 0, kernels.pointer(x), kernels.pointer(mean), acc, rows, channels], parts);
    kernels.run('add_parts', [acc, kernels.pointer(both), 2 * channels, parts]);
    return (backend.typedArrayFromHeap(both) as Float32Array).slice();
  } finally {
    kernels.free(acc);
    backend.disposeData(both.dataId);
  }
}

type BatchNormInputs = 'x' | 'mean' | 'variance' | 'offset' | 'scale';

/**
 * TF.js's wasm FusedBatchNorm is a scalar loop. Per channel, y = x * k + b with
 * k = scale / sqrt(variance + eps) and b = offset - mean * k (as TensorFlow's fused kernel
 * computes it): one pass of channel_affine.
 */
export function channelBatchNorm(original: tf.KernelFunc): (args: KernelArgs<BatchNormInputs, tf.FusedBatchNormAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x, mean, variance, offset, scale } } = args;
    const channels = x.shape[x.shape.length - 1];
    const perChannelInputs = [mean, variance, offset, scale].every((t) => t == null || (t.shape.length === 1 && t.shape[0] === channels));
    if (x.dtype !== 'float32' || x.shape.length < 2 || !perChannelInputs) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const read = (t: tf.TensorInfo | undefined) => (t == null ? undefined : backend.typedArrayFromHeap(t));
    const [m, v, o, s] = [mean, variance, offset, scale].map(read);
    const k = new Float32Array(channels);
    const b = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      k[c] = (s ? s[c] : 1) / Math.sqrt(v![c] + args.attrs.varianceEpsilon);
      b[c] = (o ? o[c] : 0) - m![c] * k[c];
    }
    const kInfo = backend.makeOutput([channels], 'float32', undefined, k);
    const bInfo = backend.makeOutput([channels], 'float32', undefined, b);
    try {
      return affine(backend, x, kInfo, bInfo);
    } finally {
      backend.disposeData(kInfo.dataId);
      backend.disposeData(bInfo.dataId);
    }
  };
}
