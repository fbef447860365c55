import tf from '@tensorflow/tfjs';
import { convRelu, denseHead, imageInput, maxPool } from './blocks';
import { seededInitializers } from './initializers';
import type { ModelOptions } from './model-options';

/**
 * The reference basic CNN with `blocks` blocks: block i is a 3x3 Conv2D with 64*2^i filters and
 * ReLU, a 2x2 max-pool and 25% dropout; then the pooled Dense(128) head.
 */
export function buildCnn(blocks: number, { inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = input;
  for (let i = 0; i < blocks; i++) {
    x = convRelu(x, 64 * 2 ** i, init, `conv${i + 1}`);
    x = maxPool(x, `pool${i + 1}`);
    x = tf.layers.dropout({ rate: 0.25, name: `dropout${i + 1}` }).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: denseHead(x, init, 128), name: `cnn-${blocks}` });
}
