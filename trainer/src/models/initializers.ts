import tf from '@tensorflow/tfjs';

type Initializer = ReturnType<typeof tf.initializers.heUniform>;

/** Kernel initialisers for one model: a seed gives the same weights, and each layer gets its own stream. */
export interface SeededInitializers {
  /** He (uniform), for layers followed by ReLU. Uniform rather than normal: same variance, and TF.js draws it far faster, which matters for vgg16 14.7M weights. */
  relu(): Initializer;
  /** Glorot uniform, for the sigmoid output. */
  sigmoid(): Initializer;
  /** Glorot uniform: Keras' default for every kernel, which the original study's networks use throughout. */
  glorot(): Initializer;
}

export function seededInitializers(seed: number): SeededInitializers {
  // One seed per layer: reusing one seed would give every same-shaped kernel identical values.
  // Never 0, which TF.js reads as "no seed".
  let layer = 0;
  const next = (): number => seed * 1_000 + ++layer;
  return {
    relu: () => tf.initializers.heUniform({ seed: next() }),
    sigmoid: () => tf.initializers.glorotUniform({ seed: next() }),
    glorot: () => tf.initializers.glorotUniform({ seed: next() }),
  };
}
