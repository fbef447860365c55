import * as tf from '@tensorflow/tfjs';
import { call, KernelArgs, release, reshape } from './kernel-calls';

type ReductionAttrs = tf.SumAttrs & tf.MeanAttrs;

/**
 * TF.js's wasm Sum and Mean first transpose the reduced axes innermost, a full copy: a bias
 * gradient (sum over all but the channels) or a global average pool cost 5x a ReLU. When the
 * reduced axes sit just before the last one, the reduction is an average pool over them, which
 * XNNPACK runs in one pass: x as [outer, reduced, 1, channels], window [reduced, 1].
 */
export function pooledReduction(kind: 'sum' | 'mean') {
  return (original: tf.KernelFunc) => (args: KernelArgs<'x', ReductionAttrs>): tf.TensorInfo => {
    const { backend, inputs: { x } } = args;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs.axis, x.shape).sort((a, b) => a - b);
    const contiguous = axes.every((axis, i) => i === 0 || axis === axes[i - 1] + 1);
    const count = tf.util.sizeFromShape(axes.map((axis) => x.shape[axis]));
    if (x.dtype !== 'float32' || axes.length === 0 || !contiguous || axes[axes.length - 1] !== rank - 2 || count < 2) {
      return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    }
    const outer = x.shape.slice(0, axes[0]);
    const channels = x.shape[rank - 1];
    const columns = reshape(backend, x, [tf.util.sizeFromShape(outer), count, 1, channels]);
    const mean = call(backend, tf.AvgPool, { x: columns }, { filterSize: [count, 1], strides: 1, pad: 'valid' });
    const shape = args.attrs.keepDims ? [...outer, ...axes.map(() => 1), channels] : [...outer, channels];
    let out: tf.TensorInfo;
    if (kind === 'mean') {
      out = reshape(backend, mean, shape);
    } else {
      const scale = backend.makeOutput([], 'float32', undefined, new Float32Array([count]));
      const sum = call(backend, tf.Multiply, { a: mean, b: scale });
      out = reshape(backend, sum, shape);
      release(backend, scale, sum);
    }
    release(backend, columns, mean);
    return out;
  };
}
