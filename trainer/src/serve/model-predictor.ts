import type * as tf from '@tensorflow/tfjs';
import type { Preprocessing } from '../models/preprocessing';
import { inputsPerImage, predictProbabilities } from '../train/predict';

/**
 * Scores one micro-batch with the same uint8-to-float conversion and scaling as evaluation, so the
 * server and the run's test metrics see identical inputs, and averaged over the 8 symmetries when
 * the model was evaluated that way (`preprocessing.tta`).
 */
export function createModelPredictor(model: tf.LayersModel, preprocessing: Preprocessing) {
  const size = preprocessing.inputSize;
  const stride = size * size * 3;
  return (images: readonly Uint8Array[]): Promise<Float32Array> => {
    const pixels = new Uint8Array(images.length * stride);
    images.forEach((image, i) => pixels.set(image, i * stride));
    const batch = { size, pixels, labels: new Uint8Array(images.length), files: [] };
    // One model call for the micro-batch, its test-time views included.
    const inputs = images.length * inputsPerImage(preprocessing.tta);
    return predictProbabilities(model, batch, inputs, preprocessing.scale, preprocessing.tta);
  };
}
