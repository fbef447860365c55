import tf from '@tensorflow/tfjs';
import { convRelu, denseHead, imageInput, maxPool } from './blocks';
import { seededInitializers } from './initializers';
import type { ModelOptions } from './model-options';

/**
 * Our variant of the study's CNN (`cnn-<blocks>-gap`): the same convolution blocks (He-initialised,
 * 25% dropout), then global average pooling and Dense(128) instead of the study's Dense per position
 * and Flatten, so the head stays small at any input size.
 */
export function buildPooledCnn(blocks: number, { inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = input;
  for (let i = 0; i < blocks; i++) {
    x = convRelu(x, 64 * 2 ** i, init, `conv${i + 1}`);
    x = maxPool(x, `pool${i + 1}`);
    x = tf.layers.dropout({ rate: 0.25, name: `dropout${i + 1}` }).apply(x) as tf.SymbolicTensor;
  }
  return tf.model({ inputs: input, outputs: denseHead(x, init, 128), name: `cnn-${blocks}-gap` });
}
