import * as tf from '@tensorflow/tfjs';
import { Transformer } from '@napi-rs/image';
import { encodePng, PngColorType } from '../../../trainer/src/data/png-encode';
import { defaultPreprocessing, type Preprocessing } from '../../../trainer/src/models/preprocessing';

export const INPUT_SIZE = 16;
/** Request images: bigger than the model's input, and above the server's smallest cell (MIN_SIDE_PX). */
export const CELL_SIDE = 24;

/** A flat image of one grey level; the tiny model learns dark = Parasitized, bright = Uninfected. */
export function flatRgb(level: number, width = INPUT_SIZE, height = INPUT_SIZE): Uint8Array {
  return new Uint8Array(width * height * 3).fill(level);
}

export const DARK = 30;
export const BRIGHT = 220;

/** Bytes in a plain ArrayBuffer, which is what `fetch` accepts as a body. */
export type Bytes = Uint8Array<ArrayBuffer>;

export async function png(level: number, width = CELL_SIDE, height = CELL_SIDE): Promise<Bytes> {
  return new Uint8Array(await encodePng({ width, height, colorType: PngColorType.rgb, data: flatRgb(level, width, height) }));
}

export async function jpeg(level: number, width = CELL_SIDE, height = CELL_SIDE): Promise<Bytes> {
  const rgba = new Uint8Array(width * height * 4).fill(level);
  for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
  return new Uint8Array(await Transformer.fromRgbaPixels(rgba, width, height).jpeg(95));
}

/** A pixel array as a JSON client would send it. */
export function pixelArray(level: number, width: number, height: number): number[][][] {
  return Array.from({ length: height }, () => Array.from({ length: width }, () => [level, level, level]));
}

/**
 * A small conv net trained in a second on flat dark (positive) and bright (negative) images, so the
 * server's labels can be checked against what the model learned.
 */
export async function trainTinyModel(): Promise<{ model: tf.LayersModel; preprocessing: Preprocessing }> {
  await tf.setBackend('cpu');
  const preprocessing = defaultPreprocessing('tiny', INPUT_SIZE);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [INPUT_SIZE, INPUT_SIZE, 3], filters: 2, kernelSize: 3, activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 1, activation: 'sigmoid', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.1), loss: 'binaryCrossentropy' });
  const levels = Array.from({ length: 16 }, (_, i) => (i % 2 ? 10 + i * 2 : 180 + i * 2));
  const x = tf.tidy(() => tf.stack(levels.map((level) => tf.fill([INPUT_SIZE, INPUT_SIZE, 3], level * preprocessing.scale))));
  const y = tf.tensor2d(levels.map((_, i) => [i % 2]));
  await model.fit(x, y, { epochs: 15, batchSize: 16, verbose: 0 });
  tf.dispose([x, y]);
  return { model, preprocessing };
}
