import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../data/types';
import { fillBatch } from './batches';
import { yieldToEventLoop } from './yield-to-event-loop';

/**
 * P(positive) for every image, fed to the model one pre-built batch at a time: the images stay
 * uint8 until their batch is due, and the wasm backend never copies one huge input per batch.
 */
export async function predictProbabilities(
  model: tf.LayersModel,
  images: LabeledImages,
  batchSize: number,
  scale: number,
): Promise<Float32Array> {
  const n = images.labels.length;
  const out = new Float32Array(n);
  const stride = images.size * images.size * 3;
  const x = new Float32Array(batchSize * stride);
  const y = new Float32Array(batchSize);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let start = 0; start < n; start += batchSize) {
    await yieldToEventLoop();
    const count = fillBatch(images, order, start, Math.min(n, start + batchSize), scale, x, y);
    const input = tf.tensor4d(x.subarray(0, count * stride), [count, images.size, images.size, 3]);
    const output = model.predict(input) as tf.Tensor;
    out.set(await output.data(), start);
    tf.dispose([input, output]);
  }
  return out;
}
