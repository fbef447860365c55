import type * as tf from '@tensorflow/tfjs';
import type { Preprocessing } from '../models/preprocessing';
import { predictProbabilities } from '../train/predict';

/**
 * Scores one micro-batch with the same uint8-to-float conversion and scaling as evaluation, so the
 * server and the run's test metrics see identical inputs.
 */
export function createModelPredictor(model: tf.LayersModel, preprocessing: Preprocessing) {
  const size = preprocessing.inputSize;
  const stride = size * size * 3;
  return (images: readonly Uint8Array[]): Promise<Float32Array> => {
    const pixels = new Uint8Array(images.length * stride);
    images.forEach((image, i) => pixels.set(image, i * stride));
    const batch = { size, pixels, labels: new Uint8Array(images.length), files: [] };
    return predictProbabilities(model, batch, images.length, preprocessing.scale);
  };
}
