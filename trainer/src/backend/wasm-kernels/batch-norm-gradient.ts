import * as tf from '@tensorflow/tfjs';

/**
 * TF.js's FusedBatchNorm gradient makes about a dozen passes over the activation, one a Tile of
 * 1 / sqrt(variance) to its full shape. The same gradients, per channel c, with
 * k = scale / sqrt(variance + eps), S1 = sum(dy), S2 = sum(dy * (x - mean)) over N, H, W:
 *   dx = dy * k, dmean = -k S1, dvariance = -k / (2 (variance + eps)) S2,
 *   dscale = S2 / sqrt(variance + eps), doffset = S1
 * take five passes (dx, S1, x - mean, its product with dy, S2), each a broadcast multiply or a
 * pooled reduction that XNNPACK runs. Gradients are registered for every backend, so this one
 * answers on wasm only and leaves the others (the cpu reference in our tests) on TF.js's.
 */
export function registerBatchNormGradient(): void {
  const current = tf.getGradient(tf.FusedBatchNorm);
  if (!current || ours.has(current.gradFunc)) return;
  const original = current.gradFunc;
  const gradFunc: tf.GradConfig['gradFunc'] = (dyOrList, saved, attrs) => {
    const dy = dyOrList as tf.Tensor;
    const [x, mean, variance, scale] = saved as tf.Tensor[];
    if (tf.getBackend() !== 'wasm' || mean.rank !== 1 || scale == null || scale.rank !== 1 || dy.rank < 2) {
      return original(dyOrList, saved, attrs);
    }
    const axes = x.shape.slice(0, -1).map((_, i) => i);
    const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
    // Computed here, not in the closures: the tape runs each closure in its own tidy, which
    // would dispose a value shared between two of them.
    const invStd = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const k = tf.mul(invStd, scale);
    const sumDy = tf.sum(dy, axes);
    const sumDyCentered = tf.sum(tf.mul(dy, tf.sub(x, mean)), axes);
    return {
      x: () => tf.mul(dy, k),
      mean: () => tf.neg(tf.mul(k, sumDy)),
      variance: () => tf.mul(tf.mul(tf.mul(k, tf.square(invStd)), -0.5), sumDyCentered),
      scale: () => tf.mul(invStd, sumDyCentered),
      offset: () => tf.clone(sumDy),
    };
  };
  ours.add(gradFunc);
  tf.registerGradient({ ...current, gradFunc });
}

const ours = new WeakSet<tf.GradConfig['gradFunc']>();

