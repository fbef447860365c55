import * as tf from '@tensorflow/tfjs';

type LossFunction = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

/**
 * The training loss: binary cross-entropy, with label smoothing when `smoothing` > 0 (Keras'
 * `BinaryCrossentropy(label_smoothing=s)`): targets 1 and 0 become 1 - s/2 and s/2, so the model is
 * not pushed towards certainty on every cell, the mislabelled ones included. Validation loss
 * (early stopping) stays plain cross-entropy against the true labels.
 */
export function trainingLoss(smoothing: number): string | LossFunction {
  if (smoothing === 0) return 'binaryCrossentropy';
  return (yTrue, yPred) => tf.metrics.binaryCrossentropy(smoothLabels(yTrue, smoothing), yPred);
}

export function smoothLabels(labels: tf.Tensor, smoothing: number): tf.Tensor {
  return tf.tidy(() => labels.mul(1 - smoothing).add(smoothing / 2));
}
