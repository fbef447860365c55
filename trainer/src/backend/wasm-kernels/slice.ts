import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';

/**
 * TF.js's wasm Slice first copies the whole input out of the heap (readSync), so slicing batch i
 * of a large tensor costs the full tensor every time. This one copies only the slice, reading
 * the input in place. Strings go to TF.js's kernel.
 */
export function zeroCopySlice(
  original: tf.KernelFunc,
): (args: KernelArgs<'x', tf.SliceAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x } } = args;
    if (x.dtype === 'string') return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, args.attrs.begin, args.attrs.size);
    const out = backend.makeOutput(size, x.dtype);
    // Views only after makeOutput: an allocation may grow (and replace) the heap buffer.
    const from = backend.typedArrayFromHeap(x);
    const to = backend.typedArrayFromHeap(out);
    copyBlock(from, x.shape, to, begin, size);
    return out;
  };
}

/** Copies the block [begin, begin + size) of a row-major array, one contiguous run at a time. */
export function copyBlock(from: tf.TypedArray, shape: number[], to: tf.TypedArray, begin: number[], size: number[]): void {
  const rank = shape.length;
  if (rank === 0 || to.length === 0) {
    to.set(from.subarray(0, to.length));
    return;
  }
  const strides = tf.util.computeStrides(shape);
  // Fold the trailing axes taken whole into one run.
  let inner = rank - 1;
  while (inner > 0 && size[inner] === shape[inner] && begin[inner] === 0) inner--;
  const run = size[inner] * (inner === rank - 1 ? 1 : strides[inner]);
  const index = begin.slice(0, inner);
  const end = begin.map((b, i) => b + size[i]);
  let at = 0;
  for (;;) {
    let offset = begin[inner] * (inner === rank - 1 ? 1 : strides[inner]);
    for (let i = 0; i < inner; i++) offset += index[i] * strides[i];
    to.set(from.subarray(offset, offset + run), at);
    at += run;
    let axis = inner - 1;
    while (axis >= 0 && ++index[axis] === end[axis]) {
      index[axis] = begin[axis];
      axis--;
    }
    if (axis < 0) return;
  }
}
