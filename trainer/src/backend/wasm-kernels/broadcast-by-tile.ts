import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { call, KernelArgs, release, reshape } from './kernel-calls';

/**
 * Binary ops that wasm runs without XNNPACK (comparisons, logical ops, Maximum, Minimum, Pow,
 * FloorDiv) compute every broadcast element's source index one at a time: an Equal of
 * [32, 6, 6, 256] against [32, 1, 1, 256] (a global max-pool's gradient) costs 25x the same op on
 * equal shapes. Tiling the smaller input first (see tile.ts: a few memcpy calls) is far cheaper.
 */
export function broadcastByTile(original: tf.KernelFunc): (args: KernelArgs<'a' | 'b', Record<string, never>>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { a, b } } = args;
    const run = (inputs: { a: tf.TensorInfo; b: tf.TensorInfo }) => original({ ...args, inputs } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    if (tf.util.arraysEqual(a.shape, b.shape) || a.dtype === 'string' || b.dtype === 'string') return run({ a, b });
    const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    if (tf.util.sizeFromShape(shape) === 0) return run({ a, b });
    const [fullA, fullB] = [a, b].map((x) => expand(backend, x, shape));
    const out = run({ a: fullA, b: fullB });
    for (const [full, x] of [[fullA, a], [fullB, b]]) if (full !== x) release(backend, full);
    return out;
  };
}

/** x broadcast to `shape` as a new tensor, or x itself when it already has that shape. */
function expand(backend: BackendWasm, x: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  if (tf.util.arraysEqual(x.shape, shape)) return x;
  const padded = [...new Array<number>(shape.length - x.shape.length).fill(1), ...x.shape];
  const lifted = reshape(backend, x, padded);
  const tiled = call(backend, tf.Tile, { x: lifted }, { reps: shape.map((d, i) => d / padded[i]) });
  release(backend, lifted);
  return tiled;
}
