import * as tf from '@tensorflow/tfjs';

/** Deterministic values in [-1, 1) (mulberry32), so both backends see the same numbers. */
export function fixedValues(size: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    values[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return values;
}

export interface Gradients {
  readonly loss: number;
  /** Gradient of the loss with respect to the input, then each trainable weight, in order. */
  readonly tensors: ReadonlyArray<{ readonly name: string; readonly values: Float32Array }>;
}

/**
 * Builds the model on `backend`, sets every weight to fixed values, runs it in training mode on a
 * fixed input (smooth, or with many exact ties) and returns the gradients of sum(output * fixed weights): the same computation a
 * training step does, on whichever kernels that backend has.
 */
export async function layerGradients(
  backend: string, build: () => tf.LayersModel, inputShape: number[], input: 'smooth' | 'ties' = 'smooth',
): Promise<Gradients> {
  await tf.setBackend(backend);
  const model = build();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(fixedValues(w.size, 100 + i), w.shape)));
  const values = fixedValues(tf.util.sizeFromShape(inputShape), 7);
  // 'ties': five levels only, so pooling windows often hold several equal maxima.
  if (input === 'ties') values.forEach((v, i) => { values[i] = Math.round(v * 2) / 2; });
  const x = tf.variable(tf.tensor(values, inputShape));
  const weights = model.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val);
  const result = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const y = model.apply(x, { training: true }) as tf.Tensor;
      return tf.sum(tf.mul(y, tf.tensor(fixedValues(y.size, 9), y.shape)));
    }, [x, ...weights]);
    return { loss: value.dataSync()[0], grads: [x, ...weights].map((v) => grads[v.name].dataSync() as Float32Array) };
  });
  // Layer names carry a per-process counter: drop it, so both backends' names compare equal.
  const names = ['input', ...model.trainableWeights.map((w) => w.name.replace(/\d+/g, ''))];
  x.dispose();
  model.dispose();
  return { loss: result.loss, tensors: result.grads.map((values, i) => ({ name: names[i], values })) };
}

/** Largest difference, relative to the largest reference value (float32 sums differ in order). */
export function relativeError(got: Float32Array, reference: Float32Array): number {
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - reference[i]));
    scale = Math.max(scale, Math.abs(reference[i]));
  }
  return diff / scale;
}
