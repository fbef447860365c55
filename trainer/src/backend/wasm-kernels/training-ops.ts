import * as tf from '@tensorflow/tfjs';
import { affine, centeredSums, sumRows } from './channel-ops';
import { KernelArgs } from './kernel-calls';

/** Our kernels (TF.js has none of these names): batch moments in one op, and its gradient. */
export const MOMENTS = 'TrainingMoments';
const MOMENTS_GRAD = 'TrainingMomentsGrad';

type Moments = typeof tf.moments;
type FusedConv2d = typeof tf.fused.conv2d;

/**
 * Two ops of @tensorflow/tfjs-core that tfjs-layers calls, routed differently on wasm. TF.js
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
 */
export function installTrainingOps(): void {
  const core = require('@tensorflow/tfjs-core') as { moments: Moments; fused: { conv2d: FusedConv2d } };
  // Only the copy of tfjs-core that @tensorflow/tfjs uses; a second copy would be left alone.
  if (core.moments !== tf.moments && !wrapped.has(core.moments)) return;
  if (!wrapped.has(core.moments)) core.moments = wrapMoments(core.moments);
  if (!wrapped.has(core.fused.conv2d)) core.fused.conv2d = wrapFusedConv2d(core.fused.conv2d);
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

function wrapMoments(original: Moments): Moments {
  const moments = ((x: tf.Tensor | tf.TensorLike, axis: number | number[] | null = null, keepDims = false) => {
    if (tf.getBackend() !== 'wasm' || !(x instanceof tf.Tensor) || x.dtype !== 'float32' || x.rank < 2) return original(x, axis ?? undefined, keepDims);
    const axes = tf.util.parseAxisParam(axis ?? x.shape.map((_, i) => i), x.shape).sort((a, b) => a - b);
    // Every axis but the channels: what batch norm over NHWC (or NC) reduces.
    if (axes.length !== x.rank - 1 || axes.some((a, i) => a !== i)) return original(x, axis ?? undefined, keepDims);
    const [mean, variance] = tf.engine().runKernel(MOMENTS, { x }, {}) as tf.Tensor[];
    if (!keepDims) return { mean, variance };
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

export const trainingOpKernels: tf.KernelConfig[] = [
  { kernelName: MOMENTS, backendName: 'wasm', kernelFunc: moments as unknown as tf.KernelFunc },
  { kernelName: MOMENTS_GRAD, backendName: 'wasm', kernelFunc: momentsGrad as unknown as tf.KernelFunc },
];
