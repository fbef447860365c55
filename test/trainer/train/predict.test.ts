import * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../../../trainer/src/data/types';
import { defaultPreprocessing } from '../../../trainer/src/models/preprocessing';
import { createModelPredictor } from '../../../trainer/src/serve/model-predictor';
import { squareSymmetries } from '../../../trainer/src/train/batches';
import { predictProbabilities } from '../../../trainer/src/train/predict';

const SIZE = 5;

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A model that looks at where pixels are: turning or flipping an image changes its output. */
function positionalModel(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [SIZE, SIZE, 3] }),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.randomNormal({ seed: 4, stddev: 0.3 }) }),
    ],
  });
}

function imagesOf(pixels: Uint8Array): LabeledImages {
  const count = pixels.length / (SIZE * SIZE * 3);
  return { size: SIZE, pixels, labels: new Uint8Array(count), files: [] };
}

const randomPixels = (count: number) => Uint8Array.from({ length: count * SIZE * SIZE * 3 }, (_, i) => (i * 97 + 13) % 256);

/** Image `index` of `pixels` under one symmetry map (out[p] = in[map[p]]), as a 1-image uint8 array. */
function transformed(pixels: Uint8Array, index: number, map: Int32Array): Uint8Array {
  const out = new Uint8Array(SIZE * SIZE * 3);
  const base = index * SIZE * SIZE * 3;
  for (let p = 0; p < SIZE * SIZE; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = pixels[base + map[p] * 3 + c];
  return out;
}

describe('predictProbabilities with test-time augmentation', () => {
  test('gives each image the mean of the model\'s outputs over its 8 flips and quarter turns', async () => {
    const model = positionalModel();
    const pixels = randomPixels(3);
    // Batch size 2: the views of a batch and the batches themselves must line up.
    const averaged = await predictProbabilities(model, imagesOf(pixels), 2, 1 / 255, true);
    const plain = await predictProbabilities(model, imagesOf(pixels), 2, 1 / 255);
    for (let i = 0; i < 3; i++) {
      const views = await Promise.all(squareSymmetries(SIZE).map((map) => predictProbabilities(model, imagesOf(transformed(pixels, i, map)), 1, 1 / 255)));
      const mean = views.reduce((sum, v) => sum + v[0], 0) / 8;
      expect(averaged[i]).toBeCloseTo(mean, 6);
      // The views differ, so the mean is not just the plain prediction.
      expect(new Set(views.map((v) => v[0].toFixed(4))).size).toBeGreaterThan(1);
      expect(Math.abs(averaged[i] - plain[i])).toBeGreaterThan(1e-4);
    }
    model.dispose();
  });

  test('changes nothing for an image that looks the same under every symmetry', async () => {
    const model = positionalModel();
    const pixels = new Uint8Array(SIZE * SIZE * 3).fill(90);
    pixels.fill(200, (2 * SIZE + 2) * 3, (2 * SIZE + 3) * 3); // a bright centre pixel
    const averaged = await predictProbabilities(model, imagesOf(pixels), 4, 1 / 255, true);
    const plain = await predictProbabilities(model, imagesOf(pixels), 4, 1 / 255);
    expect(averaged[0]).toBeCloseTo(plain[0], 6);
    model.dispose();
  });

  test('the model server scores images the way the run evaluated them: averaged when preprocessing.tta says so', async () => {
    const model = positionalModel();
    const pixels = randomPixels(2);
    const images = [pixels.subarray(0, SIZE * SIZE * 3), pixels.subarray(SIZE * SIZE * 3)];
    const served = await createModelPredictor(model, defaultPreprocessing('tiny', SIZE, 0.5, true))(images);
    const evaluated = await predictProbabilities(model, imagesOf(pixels), 64, 1 / 255, true);
    expect(Array.from(served)).toEqual(Array.from(evaluated));
    const plainServed = await createModelPredictor(model, defaultPreprocessing('tiny', SIZE))(images);
    expect(Array.from(plainServed)).toEqual(Array.from(await predictProbabilities(model, imagesOf(pixels), 64, 1 / 255)));
    model.dispose();
  });
});
