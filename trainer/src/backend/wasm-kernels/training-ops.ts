import * as tf from '@tensorflow/tfjs';
import { affine, centeredSums, sumRows } from './channel-ops';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';

/** Our kernels (TF.js has none of these names): batch moments in one op, its gradient, and batch norm's gradient through its own moments. */
export const MOMENTS = 'TrainingMoments';
const MOMENTS_GRAD = 'TrainingMomentsGrad';
export const BATCH_NORM_GRAD = 'TrainingBatchNormGrad';

type Moments = typeof tf.moments;
type FusedConv2d = typeof tf.fused.conv2d;
type BatchNorm = typeof tf.batchNorm;
const BATCH_NORMS = ['batchNorm2d', 'batchNorm3d', 'batchNorm4d'] as const;

/**
 * Ops of @tensorflow/tfjs-core that tfjs-layers calls, routed differently on wasm. TF.js
 * offers no hook above the kernel level, so the functions on the module's exports are wrapped
 * (the layers look them up on each call); everything else keeps TF.js's own.
 *
 * - `moments`, which BatchNormalization calls on every training step, runs as four kernels
 *   (Mean, Sub, Square, Mean) whose gradients take about a dozen passes over the activation,
 *   two of them multiplying by a tensor of ones. On wasm it is one kernel of ours (a pass for the
 *   mean, one for the squared deviations) with a gradient of one pass:
 *   dx = dmean / N + dvariance * 2 (x - mean) / N.
 * - `fused.conv2d` with a linear activation records one node whose gradient computes the input's
 *   gradient even when nothing needs it: for the first convolution of a model, a whole
 *   convolution per step thrown away (7% of a `compact` step). While a gradient is recorded on
 *   wasm it runs unfused (conv2d, then the bias add), as TF.js already does for other
 *   activations, so the tape skips what no weight depends on.
 * - `batchNorm2d` .. `4d` of an activation with its own batch moments (BatchNormalization in
 *   training): TF.js's tape takes the input's gradient along three paths, through the batch
 *   norm, the mean and the variance, and adds them up: four passes over the activation and a
 *   single-threaded Add. On wasm the batch norm is one node whose gradient differentiates
 *   through the moments itself, in two passes (see batchNormGrad); the moments' own node then
 *   lies on no path to the loss, and the tape skips it.
 */
export function installTrainingOps(): void {
  const core = require('@tensorflow/tfjs-core') as { moments: Moments; fused: { conv2d: FusedConv2d } } & Record<(typeof BATCH_NORMS)[number], BatchNorm>;
  // Only the copy of tfjs-core that @tensorflow/tfjs uses; a second copy would be left alone.
  if (core.moments !== tf.moments && !wrapped.has(core.moments)) return;
  if (!wrapped.has(core.moments)) core.moments = wrapMoments(core.moments);
  if (!wrapped.has(core.fused.conv2d)) core.fused.conv2d = wrapFusedConv2d(core.fused.conv2d);
  for (const name of BATCH_NORMS) if (!wrapped.has(core[name])) core[name] = wrapBatchNorm(core[name]);
  if (!tf.getGradient(MOMENTS)) {
    tf.registerGradient({
      kernelName: MOMENTS,
      inputsToSave: ['x'],
      outputsToSave: [true, false],
      gradFunc: (dys, [x, mean]) => {
        const [dmean, dvariance] = dys as tf.Tensor[];
        return { x: () => tf.engine().runKernel(MOMENTS_GRAD, { x, mean, dmean, dvariance }, {}) as tf.Tensor };
      },
    });
  }
}

const wrapped = new WeakSet<object>();

/** The input and variance of each mean our `moments` returned, for the batch norm that uses them. */
const momentsOf = new WeakMap<tf.Tensor, { x: tf.Tensor; variance: tf.Tensor }>();

function wrapMoments(original: Moments): Moments {
  const moments = ((x: tf.Tensor | tf.TensorLike, axis: number | number[] | null = null, keepDims = false) => {
    if (tf.getBackend() !== 'wasm' || !(x instanceof tf.Tensor) || x.dtype !== 'float32' || x.rank < 2) return original(x, axis ?? undefined, keepDims);
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape).sort((a, b) => a - b);
    // Every axis but the channels: what batch norm over NHWC (or NC) reduces.
    if (axes.length !== x.rank - 1 || axes.some((a, i) => a !== i)) return original(x, axis ?? undefined, keepDims);
    const [mean, variance] = tf.engine().runKernel(MOMENTS, { x }, {}) as tf.Tensor[];
    if (!keepDims) {
      momentsOf.set(mean, { x, variance });
      return { mean, variance };
    }
    const shape = x.shape.map((d, i) => (i === x.rank - 1 ? d : 1));
    return { mean: tf.reshape(mean, shape), variance: tf.reshape(variance, shape) };
  }) as Moments;
  wrapped.add(moments);
  return moments;
}

function wrapFusedConv2d(original: FusedConv2d): FusedConv2d {
  const conv2d = ((args: Parameters<FusedConv2d>[0]) => {
    const linear = (args.activation ?? 'linear') === 'linear' && args.preluActivationWeights == null;
    if (tf.getBackend() !== 'wasm' || tf.engine().state.gradientDepth === 0 || !linear || (args.dataFormat ?? 'NHWC') !== 'NHWC') {
      return original(args);
    }
    const y = tf.conv2d(args.x, args.filter, args.strides, args.pad, 'NHWC', args.dilations, args.dimRoundingMode);
    return args.bias == null ? y : tf.add(y, args.bias);
  }) as FusedConv2d;
  wrapped.add(conv2d);
  return conv2d;
}

function wrapBatchNorm(original: BatchNorm): BatchNorm {
  const batchNorm = ((x, mean, variance, offset, scale, varianceEpsilon = 0.001) => {
    const moments = mean instanceof tf.Tensor ? momentsOf.get(mean) : undefined;
    const ownMoments = moments !== undefined && moments.x === x && moments.variance === variance;
    if (!ownMoments || tf.getBackend() !== 'wasm' || tf.engine().state.gradientDepth === 0 || !(offset instanceof tf.Tensor) || !(scale instanceof tf.Tensor)
      || scale.rank !== 1 || offset.rank !== 1) {
      return original(x, mean, variance, offset, scale, varianceEpsilon);
    }
    return normalizeBatch(x as tf.Tensor, mean as tf.Tensor, variance as tf.Tensor, offset, scale, varianceEpsilon);
  }) as BatchNorm;
  wrapped.add(batchNorm);
  return batchNorm;
}

/**
 * x normalised by its own batch's mean and variance, as one node of the tape over x, scale and
 * offset: the mean and variance are constants to it, their dependence on x is in its gradient.
 */
function normalizeBatch(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, offset: tf.Tensor, scale: tf.Tensor, varianceEpsilon: number): tf.Tensor {
  const attrs = { varianceEpsilon };
  const op = tf.customGrad(((input: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, save: tf.GradSaveFunc) => {
    save([input, gamma, mean, variance]);
    const value = tf.engine().runKernel(tf.FusedBatchNorm, { x: input, mean, variance, offset: beta, scale: gamma }, attrs) as tf.Tensor;
    const gradFunc = (dy: tf.Tensor, [savedX, savedScale, savedMean, savedVariance]: tf.Tensor[]) => tf.engine().runKernel(
      BATCH_NORM_GRAD, { dy, x: savedX, mean: savedMean, variance: savedVariance, scale: savedScale }, attrs) as tf.Tensor[];
    return { value, gradFunc };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, scale, offset);
}

/** mean and variance per channel of x (rows of channels): a pass for each. */
function moments(args: KernelArgs<'x', Record<string, never>>): tf.TensorInfo[] {
  const { backend, inputs: { x } } = args;
  const channels = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / channels;
  const mean = backend.makeOutput([channels], 'float32');
  sumRows(backend, x, 1, rows, channels, 1 / rows, mean);
  const squares = centeredSums(backend, undefined, x, mean).subarray(channels);
  const variance = backend.makeOutput([channels], 'float32', undefined, squares.map((s) => s / rows));
  return [mean, variance];
}

/** dx = (x - mean) * (2 dvariance / N) + dmean / N, one pass. */
function momentsGrad(args: KernelArgs<'x' | 'mean' | 'dmean' | 'dvariance', Record<string, never>>): tf.TensorInfo {
  const { backend, inputs: { x, mean, dmean, dvariance } } = args;
  const channels = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / channels;
  // Both computed before either allocation, which may grow (and replace) the heap under the views.
  const scaleValues = (backend.typedArrayFromHeap(dvariance) as Float32Array).map((d) => (2 * d) / rows);
  const shiftValues = (backend.typedArrayFromHeap(dmean) as Float32Array).map((d) => d / rows);
  const scale = backend.makeOutput([channels], 'float32', undefined, scaleValues);
  const shift = backend.makeOutput([channels], 'float32', undefined, shiftValues);
  try {
    return affine(backend, x, scale, shift, mean);
  } finally {
    backend.disposeData(scale.dataId);
    backend.disposeData(shift.dataId);
  }
}

/**
 * The gradients of y = (x - mean) * k + offset, k = scale / sqrt(variance + eps), where mean and
 * variance are x's own over N rows. Per channel, with S1 = sum(dy) and S2 = sum(dy * (x - mean)):
 *   dx = k (dy - S1 / N - (x - mean) S2 / (N (variance + eps))), dscale = S2 / sqrt(variance + eps),
 *   doffset = S1,
 * the sum of what TF.js's tape adds up along the batch norm, the mean and the variance; a pass
 * for the sums, one for dx.
 */
function batchNormGrad(args: KernelArgs<'dy' | 'x' | 'mean' | 'variance' | 'scale', tf.FusedBatchNormAttrs>): tf.TensorInfo[] {
  const { backend, inputs: { dy, x, mean, variance, scale }, attrs: { varianceEpsilon } } = args;
  const channels = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / channels;
  const sums = centeredSums(backend, dy, x, mean);
  // Copied before any allocation, which may grow (and replace) the heap under the views.
  const v = (backend.typedArrayFromHeap(variance) as Float32Array).slice();
  const s = (backend.typedArrayFromHeap(scale) as Float32Array).slice();
  const coef = new Float32Array(3 * channels);
  const dscale = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const invStd = 1 / Math.sqrt(v[c] + varianceEpsilon);
    const k = s[c] * invStd;
    coef[c] = k;
    coef[channels + c] = -k * invStd * invStd * sums[channels + c] / rows;
    coef[2 * channels + c] = -k * sums[c] / rows;
    dscale[c] = sums[channels + c] * invStd;
  }
  const kernels = trainingKernels(backend);
  const coefInfo = backend.makeOutput([3 * channels], 'float32', undefined, coef);
  const dx = backend.makeOutput(x.shape, 'float32');
  try {
    kernels.run('batch_norm_dx', [
      kernels.pointer(dy), kernels.pointer(x), kernels.pointer(mean), kernels.pointer(coefInfo), kernels.pointer(dx), rows, channels,
    ], kernels.partsFor(rows * channels));
  } finally {
    backend.disposeData(coefInfo.dataId);
  }
  return [dx, backend.makeOutput([channels], 'float32', undefined, dscale), backend.makeOutput([channels], 'float32', undefined, sums.slice(0, channels))];
}

export const trainingOpKernels: tf.KernelConfig[] = [
  { kernelName: MOMENTS, backendName: 'wasm', kernelFunc: moments as unknown as tf.KernelFunc },
  { kernelName: MOMENTS_GRAD, backendName: 'wasm', kernelFunc: momentsGrad as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_GRAD, backendName: 'wasm', kernelFunc: batchNormGrad as unknown as tf.KernelFunc },
];
