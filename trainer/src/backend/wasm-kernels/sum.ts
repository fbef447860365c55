import * as tf from '@tensorflow/tfjs';
import { call, KernelArgs, release, reshape } from './kernel-calls';

/**
 * TF.js's wasm Sum moves the reduced axes innermost with a full transpose before adding. A bias
 * gradient sums a [batch, height, width, channels] tensor over all but its channels, which is
 * exactly ones[1, n] x x[n, channels]: one XNNPACK product, no transpose.
 */
export function leadingAxesSum(original: tf.KernelFunc): (args: KernelArgs<'x', tf.SumAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x } } = args;
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(args.attrs.axis, x.shape).sort((a, b) => a - b);
    const leading = axes.length > 0 && axes.length < rank && axes.every((axis, i) => axis === i);
    if (x.dtype !== 'float32' || !leading) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, axes.length));
    const kept = x.shape.slice(axes.length);
    const ones = backend.makeOutput([1, 1, rows], 'float32');
    backend.typedArrayFromHeap(ones).fill(1);
    const matrix = reshape(backend, x, [1, rows, tf.util.sizeFromShape(kept)]);
    const product = call(backend, tf.BatchMatMul, { a: ones, b: matrix }, { transposeA: false, transposeB: false });
    const out = reshape(backend, product, args.attrs.keepDims ? [...axes.map(() => 1), ...kept] : kept);
    release(backend, ones, matrix, product);
    return out;
  };
}
