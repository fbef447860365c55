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

/**
 * - smooth: fixed values in [-1, 1)
 * - ties: five levels only, so pooling windows often hold several equal maxima
 * - extremes: ties plus NaN and -Infinity scattered, and in the first image a 2x2 block of only
 *   NaN and one of only -Infinity (input [batch, height, width, channels] of at least 2 x 4)
 */
export type InputKind = 'smooth' | 'ties' | 'extremes';

export function fixedInput(shape: number[], kind: InputKind): Float32Array {
  const values = fixedValues(tf.util.sizeFromShape(shape), 7);
  if (kind === 'smooth') return values;
  values.forEach((v, i) => { values[i] = Math.round(v * 2) / 2; });
  if (kind === 'ties') return values;
  values.forEach((_, i) => {
    if (i % 7 === 3) values[i] = NaN;
    else if (i % 5 === 1) values[i] = -Infinity;
  });
  const [, , width, channels] = shape;
  for (const [y, x, value] of [[0, 0, NaN], [0, 1, NaN], [1, 0, NaN], [1, 1, NaN], [0, 2, -Infinity], [0, 3, -Infinity], [1, 2, -Infinity], [1, 3, -Infinity]]) {
    values.fill(value, (y * width + x) * channels, (y * width + x + 1) * channels);
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
 * fixed input and returns the gradients of sum(output * fixed weights): the same computation a
 * training step does, on whichever kernels that backend has.
 */
export async function layerGradients(backend: string, build: () => tf.LayersModel, inputShape: number[], input: InputKind = 'smooth'): Promise<Gradients> {
  await tf.setBackend(backend);
  const model = build();
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(fixedValues(w.size, 100 + i), w.shape)));
  const x = tf.variable(tf.tensor(fixedInput(inputShape, input), inputShape));
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

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/**
 * The elements where got and reference differ by more than atol + rtol * |reference| (NaN matches
 * only NaN), the first few of them, for a failure message that shows what differs.
 */
export function mismatches(got: Float32Array, reference: Float32Array, { atol, rtol }: Tolerance): string[] {
  const found: string[] = [];
  if (got.length !== reference.length) return [`${got.length} values, expected ${reference.length}`];
  for (let i = 0; i < reference.length && found.length < 5; i++) {
    const [a, b] = [got[i], reference[i]];
    const close = Number.isNaN(b) ? Number.isNaN(a) : Math.abs(a - b) <= atol + rtol * Math.abs(b);
    if (!close) found.push(`[${i}] ${a} vs ${b}`);
  }
  return found;
}
