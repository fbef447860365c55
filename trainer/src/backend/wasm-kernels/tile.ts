import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';

/**
 * TF.js's wasm Tile computes every output element's source index one at a time. Batch norm's
 * gradient tiles a [1, 1, 1, C] tensor to the whole activation shape each step, which made Tile
 * 40% of a training step of a batch-normed model. This one copies runs and doubles them with
 * copyWithin: a few memcpy calls per axis. Strings go to TF.js's kernel.
 */
export function copyTile(original: tf.KernelFunc): (args: KernelArgs<'x', tf.TileAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x } } = args;
    if (x.dtype === 'string') return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const { reps } = args.attrs;
    const out = backend.makeOutput(x.shape.map((d, i) => d * reps[i]), x.dtype);
    // Views only after makeOutput: an allocation may grow (and replace) the heap buffer.
    tileInto(backend.typedArrayFromHeap(x), x.shape, reps, backend.typedArrayFromHeap(out));
    return out;
  };
}

/** Writes `from` (row-major, of `shape`) repeated reps[i] times along each axis i into `to`. */
export function tileInto(from: tf.TypedArray, shape: number[], reps: number[], to: tf.TypedArray): void {
  const rank = shape.length;
  if (rank === 0 || to.length === 0) {
    to.set(from.subarray(0, to.length));
    return;
  }
  const inStrides = [...tf.util.computeStrides(shape), 1];
  // outBlock[k]: the size of one index of axis k - 1 in the output (all of axes k.. of it).
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let k = rank - 1; k >= 0; k--) outBlock[k] = outBlock[k + 1] * shape[k] * reps[k];
  // The output along axis k is the input's slices along k, laid out once, then repeated.
  const fill = (k: number, inAt: number, outAt: number): void => {
    const once = shape[k] * outBlock[k + 1];
    if (k === rank - 1) {
      to.set(from.subarray(inAt, inAt + shape[k]), outAt);
    } else {
      for (let i = 0; i < shape[k]; i++) fill(k + 1, inAt + i * inStrides[k], outAt + i * outBlock[k + 1]);
    }
    const end = outAt + once * reps[k];
    for (let done = once; outAt + done < end; done *= 2) {
      to.copyWithin(outAt + done, outAt, outAt + Math.min(done, end - outAt - done));
    }
  };
  fill(0, 0, 0);
}
