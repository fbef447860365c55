import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../data/types';
import { fillBatch, squareSymmetries, type Augmentation } from './batches';
import { yieldToEventLoop } from './yield-to-event-loop';

/**
 * P(positive) for every image, fed to the model `batchSize` inputs at a time: the images stay
 * uint8 until their batch is due, and the wasm backend never copies one huge input per batch.
 * With `tta` (test-time augmentation) each image is scored under all 8 symmetries of the square
 * and the 8 probabilities are averaged: a cell has no orientation, so each view is as valid as
 * the original, and their mean is steadier than any one of them. The views of an image go through
 * the model in the same batches as the other images' (8 inputs per image), so it costs 8 times
 * the model's work and no more calls than needed.
 */
export async function predictProbabilities(
  model: tf.LayersModel,
  images: LabeledImages,
  batchSize: number,
  scale: number,
  tta = false,
): Promise<Float32Array> {
  const n = images.labels.length;
  const out = new Float32Array(n);
  const stride = images.size * images.size * 3;
  const x = new Float32Array(batchSize * stride);
  const y = new Float32Array(batchSize);
  const views = tta ? squareSymmetries(images.size) : undefined;
  const perImage = inputsPerImage(tta);
  // Input k is image floor(k / perImage) under view k % perImage.
  const inputs = n * perImage;
  const imageOf = Int32Array.from({ length: inputs }, (_, k) => Math.floor(k / perImage));
  for (let start = 0; start < inputs; start += batchSize) {
    await yieldToEventLoop();
    let k = start;
    const view: Augmentation | undefined = views && (() => ({ map: views[k++ % perImage], brightness: 1 }));
    const count = fillBatch(images, imageOf, start, Math.min(inputs, start + batchSize), scale, x, y, view);
    const input = tf.tensor4d(x.subarray(0, count * stride), [count, images.size, images.size, 3]);
    const output = model.predict(input) as tf.Tensor;
    const probabilities = await output.data();
    tf.dispose([input, output]);
    for (let b = 0; b < count; b++) out[imageOf[start + b]] += probabilities[b] / perImage;
  }
  return out;
}

/** How many model inputs scoring one image takes: its 8 views with test-time augmentation. */
export function inputsPerImage(tta: boolean): number {
  return tta ? 8 : 1;
}
