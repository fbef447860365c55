import * as tf from '@tensorflow/tfjs';
import { centeredSums, channelRows } from './channel-ops';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';

/** Our kernels that only the gradients below call (TF.js has no kernels of these names). */
export const RELU_GRAD = 'TrainingReluGrad';
export const SQUARE_GRAD = 'TrainingSquareGrad';
export const BATCH_NORM_GRAD_SUMS = 'TrainingBatchNormGradSums';
export const CHANNEL_MAX_GRAD = 'TrainingChannelMaxGrad';

type GradFunc = tf.GradConfig['gradFunc'];
type Gradients = ReturnType<GradFunc>;

/**
 * Gradients that TF.js builds from several full-size passes (or from tensors of ones filled in
 * JavaScript), computed in one or two passes instead. Gradients are registered for every backend,
 * so each answers on wasm only and leaves the others, the cpu reference of the tests among them,
 * on TF.js's own.
 */
export function registerTrainingGradients(): void {
  overrideOnWasm(tf.Relu, ([dy], [x]) => ({ x: () => runKernel(RELU_GRAD, { dy, x }) }));
  overrideOnWasm(tf.Square, ([dy], [x]) => ({ x: () => runKernel(SQUARE_GRAD, { dy, x }) }));
  // TF.js multiplies dy by a tensor of ones as large as x, made in JavaScript (a third of a
  // training step of `compact`): a Tile of dy (a few memcpy calls) gives the same values.
  overrideOnWasm(tf.Sum, ([dy], [x], attrs) => ({ x: () => spread(dy, x, (attrs as unknown as tf.SumAttrs).axis) }));
  overrideOnWasm(tf.Mean, ([dy], [x], attrs) => {
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
    const count = tf.util.sizeFromShape(axes.map((axis) => x.shape[axis]));
    return { x: () => spread(tf.div(dy, count), x, axes) };
  });
  overrideOnWasm(tf.FusedBatchNorm, batchNormGradient);
  // A global max pool's gradient, dy * (x == max), is a broadcast Equal, a Cast and a broadcast
  // Multiply in TF.js, each a single-threaded pass (2% of a `compact` step): one pass of ours.
  overrideOnWasm(tf.Max, ([dy], [x, max], attrs) => {
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MaxAttrs).reductionIndices, x.shape);
    if (x.dtype !== 'float32' || !channelRows(x.shape, axes)) return undefined;
    return { x: () => tf.engine().runKernel(CHANNEL_MAX_GRAD, { dy, x, max }, { axes }) as tf.Tensor };
  });
}

/** dy (reduced over `axis` of x) repeated along those axes to x's shape. */
function spread(dy: tf.Tensor, x: tf.Tensor, axis: number | number[]): tf.Tensor {
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.tile(tf.reshape(dy, expanded), x.shape.map((d, i) => (axes.includes(i) ? d : 1)));
}

/**
 * Batch norm's gradients per channel c, with k = scale / sqrt(variance + eps), S1 = sum(dy),
 * S2 = sum(dy * (x - mean)) over N, H, W:
 *   dx = dy * k, dmean = -k S1, dvariance = -k / (2 (variance + eps)) S2,
 *   dscale = S2 / sqrt(variance + eps), doffset = S1
 * in two passes: S1 and S2 together, then dx.
 */
function batchNormGradient(dys: tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap): Gradients | undefined {
  const [dy] = dys;
  const [x, mean, variance, scale] = saved;
  if (mean.rank !== 1 || scale == null || scale.rank !== 1 || dy.rank < 2) return undefined;
  const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
  // Computed here, not in the closures: the tape runs each closure in its own tidy, which
  // would dispose a value shared between two of them.
  const invStd = tf.rsqrt(tf.add(variance, varianceEpsilon));
  const k = tf.mul(invStd, scale);
  const [sumDy, sumDyCentered] = tf.engine().runKernel(BATCH_NORM_GRAD_SUMS, { dy, x, mean }, {}) as tf.Tensor[];
  return {
    x: () => tf.mul(dy, k),
    mean: () => tf.neg(tf.mul(k, sumDy)),
    variance: () => tf.mul(tf.mul(tf.mul(k, tf.square(invStd)), -0.5), sumDyCentered),
    scale: () => tf.mul(invStd, sumDyCentered),
    offset: () => tf.clone(sumDy),
  };
}

const ours = new WeakSet<GradFunc>();

/** Registers `wasm` as kernelName's gradient while wasm is the backend; undefined from it falls back to TF.js's. */
function overrideOnWasm(kernelName: string, wasm: (dys: tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => Gradients | undefined): void {
  const current = tf.getGradient(kernelName);
  if (!current || ours.has(current.gradFunc)) return;
  const original = current.gradFunc;
  const gradFunc: GradFunc = (dy, saved, attrs) => {
    const dys = Array.isArray(dy) ? dy : [dy];
    return (tf.getBackend() === 'wasm' ? wasm(dys, saved, attrs) : undefined) ?? original(dy, saved, attrs);
  };
  ours.add(gradFunc);
  tf.registerGradient({ ...current, gradFunc });
}

function runKernel(name: string, inputs: Record<string, tf.Tensor>): tf.Tensor {
  return tf.engine().runKernel(name, inputs, {}) as tf.Tensor;
}

/** dy and x of one shape, through an elementwise kernel of ours, split across the wasm threads. */
function elementwise(kernel: 'relu_grad' | 'square_grad') {
  return (args: KernelArgs<'dy' | 'x', Record<string, never>>): tf.TensorInfo => {
    const { backend, inputs: { dy, x } } = args;
    const kernels = trainingKernels(backend);
    const out = backend.makeOutput(x.shape, 'float32');
    const n = tf.util.sizeFromShape(x.shape);
    kernels.run(kernel, [kernels.pointer(dy), kernels.pointer(x), kernels.pointer(out), n], kernels.partsFor(n));
    return out;
  };
}

/** [sum(dy), sum(dy * (x - mean))] per channel. */
function batchNormGradSums(args: KernelArgs<'dy' | 'x' | 'mean', Record<string, never>>): tf.TensorInfo[] {
  const { backend, inputs: { dy, x, mean } } = args;
  const channels = x.shape[x.shape.length - 1];
  const sums = centeredSums(backend, dy, x, mean);
  return [sums.subarray(0, channels), sums.subarray(channels)].map((v) => backend.makeOutput([channels], 'float32', undefined, v));
}

/** dx of a Max over the axes just before the channels (see channelRows). */
function channelMaxGrad(args: KernelArgs<'dy' | 'x' | 'max', { axes: number[] }>): tf.TensorInfo {
  const { backend, inputs: { dy, x, max } } = args;
  const { outer, rows, channels } = channelRows(x.shape, args.attrs.axes)!;
  const kernels = trainingKernels(backend);
  const dx = backend.makeOutput(x.shape, 'float32');
  kernels.run('channel_max_grad', [
    kernels.pointer(dy), kernels.pointer(x), kernels.pointer(max), kernels.pointer(dx), outer, rows, channels,
  ], kernels.partsFor(outer * rows * channels));
  return dx;
}

export const trainingGradientKernels: tf.KernelConfig[] = [
  { kernelName: RELU_GRAD, backendName: 'wasm', kernelFunc: elementwise('relu_grad') as unknown as tf.KernelFunc },
  { kernelName: SQUARE_GRAD, backendName: 'wasm', kernelFunc: elementwise('square_grad') as unknown as tf.KernelFunc },
  { kernelName: BATCH_NORM_GRAD_SUMS, backendName: 'wasm', kernelFunc: batchNormGradSums as unknown as tf.KernelFunc },
  { kernelName: CHANNEL_MAX_GRAD, backendName: 'wasm', kernelFunc: channelMaxGrad as unknown as tf.KernelFunc },
];
