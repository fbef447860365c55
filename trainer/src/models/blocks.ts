import tf from '@tensorflow/tfjs';
import type { SeededInitializers } from './initializers';

type Tensor = tf.SymbolicTensor;

// Dropout layers get no seed on purpose: TF.js would then draw the same mask at every step.

/**
 * Batch norm's moving-average momentum. Short runs (the demo has ~50 steps an epoch) need moving
 * statistics that settle within an epoch, which Keras' 0.99 would leave skewed by their initial
 * values for a while; models trained for thousands of steps can take Keras' value.
 */
export const SHORT_RUN_BN_MOMENTUM = 0.9;
export const KERAS_BN_MOMENTUM = 0.99;

/** 3x3 convolution with bias and ReLU. */
export function convRelu(x: Tensor, filters: number, init: SeededInitializers, name: string): Tensor {
  return tf.layers.conv2d({
    filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init.relu(), name,
  }).apply(x) as Tensor;
}

/** 3x3 convolution, batch norm, ReLU. The conv has no bias: batch norm's beta replaces it. */
export function convBnRelu(
  x: Tensor, filters: number, init: SeededInitializers, name: string, momentum = SHORT_RUN_BN_MOMENTUM,
): Tensor {
  const conv = tf.layers.conv2d({
    filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init.relu(), name,
  });
  return bnRelu(conv.apply(x) as Tensor, name, momentum);
}

/** Depthwise-separable 3x3 convolution (9 + filters weights per input channel), batch norm, ReLU. */
export function separableBnRelu(
  x: Tensor, filters: number, init: SeededInitializers, name: string, momentum = SHORT_RUN_BN_MOMENTUM,
): Tensor {
  const conv = tf.layers.separableConv2d({
    filters, kernelSize: 3, padding: 'same', useBias: false,
    depthwiseInitializer: init.relu(), pointwiseInitializer: init.relu(), name,
  });
  return bnRelu(conv.apply(x) as Tensor, name, momentum);
}

function bnRelu(x: Tensor, name: string, momentum: number): Tensor {
  const normalized = tf.layers.batchNormalization({ momentum, name: `${name}_bn` }).apply(x);
  return tf.layers.reLU({ name: `${name}_relu` }).apply(normalized) as Tensor;
}

export function maxPool(x: Tensor, name: string): Tensor {
  return tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name }).apply(x) as Tensor;
}

/** The single sigmoid unit every model ends in: P(Parasitized). */
export function sigmoidOutput(x: Tensor, init: SeededInitializers): Tensor {
  return tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: init.sigmoid(), name: 'probability' })
    .apply(x) as Tensor;
}

/**
 * Global average and global max pooling side by side, then the output unit. A parasite is a
 * small dark inclusion somewhere in the cell: the max says "there is one", which an average over
 * the whole cell would dilute; the average keeps the cell's overall texture and stain.
 */
export function avgMaxHead(x: Tensor, init: SeededInitializers, dropout: number): Tensor {
  const pooled = tf.layers.concatenate({ name: 'avg_max' }).apply([
    tf.layers.globalAveragePooling2d({ name: 'global_avg' }).apply(x) as Tensor,
    tf.layers.globalMaxPooling2d({ name: 'global_max' }).apply(x) as Tensor,
  ]) as Tensor;
  const dropped = dropout > 0 ? tf.layers.dropout({ rate: dropout, name: 'head_dropout' }).apply(pooled) as Tensor : pooled;
  return sigmoidOutput(dropped, init);
}

/**
 * Global average pooling, Dense + dropout, output. Pooling instead of flatten keeps the head's
 * size independent of the input size (flattening cnn-1's 50x50x64 map at 100 px into 128 units
 * would take 20M weights that mostly memorise positions) and tolerates cells anywhere in the frame.
 */
export function denseHead(x: Tensor, init: SeededInitializers, units: number): Tensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'global_avg' }).apply(x);
  const hidden = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init.relu(), name: 'head_dense' })
    .apply(pooled);
  const dropped = tf.layers.dropout({ rate: 0.5, name: 'head_dropout' }).apply(hidden) as Tensor;
  return sigmoidOutput(dropped, init);
}

export function imageInput(inputSize: number): Tensor {
  return tf.input({ shape: [inputSize, inputSize, 3], name: 'image' });
}
