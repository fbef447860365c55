import tf from '@tensorflow/tfjs';
import { imageInput, maxPool, sigmoidOutput } from './blocks';
import { type SeededInitializers, seededInitializers } from './initializers';
import type { ModelOptions } from './model-options';
import { vgg16Base } from './vgg16';

type Tensor = tf.SymbolicTensor;

/**
 * The five networks of the study this project grew from (aganse/py_tf2_gpu_dock_mlflow, train.py,
 * `define_network`: `convolutions` = 1..4 for the CNNs, 0 for VGG16), layer for layer, with Keras'
 * defaults where it used them (Glorot-uniform kernels, batch norm momentum 0.99 and epsilon 1e-3).
 * The dense layers after the convolutions run on the 4-D feature map, as Keras' Dense does: one
 * Dense(128) per position, then Flatten, so the head grows with the input (at 100 px, cnn-1's
 * 50x50x128 map flattens into 320,000 weights of the output unit).
 */

/** Dense(units, ReLU) at every position of the map, Dropout 0.2, BatchNormalization: the study's head block. */
function denseBlock(x: Tensor, units: number, init: SeededInitializers, name: string): Tensor {
  const dense = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.glorot(), name }).apply(x) as Tensor;
  const dropped = tf.layers.dropout({ rate: 0.2, name: `${name}_dropout` }).apply(dense) as Tensor;
  return tf.layers.batchNormalization({ name: `${name}_bn` }).apply(dropped) as Tensor;
}

function flattenOutput(x: Tensor, init: SeededInitializers): Tensor {
  return sigmoidOutput(tf.layers.flatten({ name: 'flatten' }).apply(x) as Tensor, init);
}

/**
 * CNN with `blocks` blocks: block i is Conv2D(64*2^i, 3x3, same, ReLU), MaxPool 2x2 stride 2,
 * Dropout 0.5; then Dense(128) per position, Dropout 0.2, BatchNormalization, Flatten, Dense(1, sigmoid).
 */
export function buildOriginalCnn(blocks: number, { inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = input;
  for (let i = 0; i < blocks; i++) {
    x = tf.layers.conv2d({
      filters: 64 * 2 ** i, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.glorot(), name: `conv${i + 1}`,
    }).apply(x) as Tensor;
    x = maxPool(x, `pool${i + 1}`);
    x = tf.layers.dropout({ rate: 0.5, name: `dropout${i + 1}` }).apply(x) as Tensor;
  }
  x = denseBlock(x, 128, init, 'dense1');
  return tf.model({ inputs: input, outputs: flattenOutput(x, init), name: `cnn-${blocks}` });
}

/**
 * VGG16's 13-layer base (ImageNet weights with --weights imagenet), then Dense(256) and Dense(128)
 * per position, each with Dropout 0.2 and BatchNormalization, Flatten, Dense(1, sigmoid).
 */
export function buildOriginalVgg16({ inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = vgg16Base(input, init);
  x = denseBlock(x, 256, init, 'dense1');
  x = denseBlock(x, 128, init, 'dense2');
  return tf.model({ inputs: input, outputs: flattenOutput(x, init), name: 'vgg16' });
}
