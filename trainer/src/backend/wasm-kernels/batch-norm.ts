import * as tf from '@tensorflow/tfjs';
import { call, KernelArgs, release } from './kernel-calls';

type BatchNormInputs = 'x' | 'mean' | 'variance' | 'offset' | 'scale';

/**
 * TF.js's wasm FusedBatchNorm is a scalar loop: 3x the time of a multiply and an add on XNNPACK.
 * Per channel, y = x * k + b with k = scale / sqrt(variance + eps) and b = offset - mean * k (as
 * TensorFlow's own fused kernel computes it): two broadcast passes over the activation.
 */
export function xnnpackBatchNorm(original: tf.KernelFunc): (args: KernelArgs<BatchNormInputs, tf.FusedBatchNormAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x, mean, variance, offset, scale } } = args;
    const channels = x.shape[x.shape.length - 1];
    const perChannel = [mean, variance, offset, scale].every((t) => t == null || (t.shape.length === 1 && t.shape[0] === channels));
    if (x.dtype !== 'float32' || x.shape.length < 2 || !perChannel) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
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
    const scaled = call(backend, tf.Multiply, { a: x, b: kInfo });
    const out = call(backend, tf.Add, { a: scaled, b: bInfo });
    release(backend, kInfo, bInfo, scaled);
    return out;
  };
}
