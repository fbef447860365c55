import { deriveSeed, mulberry32, shuffleInPlace, type Random } from '../data/random';
import type { LabeledImages } from '../data/types';

// Bound once: jest's sandbox makes every global `Math` lookup in a per-pixel loop very slow.
const { floor, log, max, min } = Math;

/** 0..n-1 in a random order. */
export function shuffledOrder(n: number, random: Random): number[] {
  return shuffleInPlace(Array.from({ length: n }, (_, i) => i), random);
}

/**
 * The 8 symmetries of a square (identity, 3 rotations, 4 reflections) as pixel index maps:
 * out[p] = in[map[p]]. A cell has no orientation, so each is an equally valid training image.
 */
export function squareSymmetries(size: number): Int32Array[] {
  const maps: Int32Array[] = [];
  const last = size - 1;
  const transforms: Array<(y: number, x: number) => [number, number]> = [
    (y, x) => [y, x],
    (y, x) => [x, last - y],
    (y, x) => [last - y, last - x],
    (y, x) => [last - x, y],
    (y, x) => [y, last - x],
    (y, x) => [last - y, x],
    (y, x) => [x, y],
    (y, x) => [last - x, last - y],
  ];
  for (const transform of transforms) {
    const map = new Int32Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const [sy, sx] = transform(y, x);
        map[y * size + x] = sy * size + sx;
      }
    }
    maps.push(map);
  }
  return maps;
}

/** Which symmetries augmentation draws from: all 8, or the 4 that flips reach (Keras' RandomFlip: identity, both flips, both at once). */
export const AUGMENT_SYMMETRIES = ['all', 'flips'] as const;
export type AugmentSymmetries = (typeof AUGMENT_SYMMETRIES)[number];

/** squareSymmetries' indices of identity, the half turn, and the horizontal and vertical flips. */
const FLIPS = [0, 2, 4, 5];

/** The symmetry maps augmentation picks from. */
export function augmentationSymmetries(size: number, which: AugmentSymmetries): Int32Array[] {
  const all = squareSymmetries(size);
  return which === 'all' ? all : FLIPS.map((i) => all[i]);
}

/** How one image is written: which square symmetry, and what its brightness is multiplied by. */
export interface ImageTransform {
  readonly map: Int32Array;
  readonly brightness: number;
}

/** Chooses the transform of each image as a batch is filled, one call per image. */
export type Augmentation = () => ImageTransform;

/** Training augmentation: a random symmetry and a brightness factor drawn from [1 - brightness, 1 + brightness]. */
export function createAugmentation(symmetries: readonly Int32Array[], random: Random, brightness = 0.1): Augmentation {
  return () => {
    const map = symmetries[floor(random() * symmetries.length)];
    return { map, brightness: 1 + (random() * 2 - 1) * brightness };
  };
}

/** The order an epoch visits the training images in, and the augmentation draws of its steps: functions of (seed, epoch, step) alone. */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return shuffledOrder(n, mulberry32(deriveSeed(seed, epoch)));
}

export function stepRandom(seed: number, epoch: number, step: number): Random {
  return mulberry32(deriveSeed(seed, epoch, step + 1));
}

/**
 * Writes images `indices[start..end)` into `x` as float32 RGB scaled by `scale`, and their labels
 * into `y`; returns the number of images written. With `augment`, each image is written under the
 * symmetry and brightness factor it chooses.
 */
export function fillBatch(
  images: LabeledImages,
  indices: ArrayLike<number>,
  start: number,
  end: number,
  scale: number,
  x: Float32Array,
  y: Float32Array,
  augment?: Augmentation,
): number {
  const pixelsPerImage = images.size * images.size;
  const stride = pixelsPerImage * 3;
  const count = end - start;
  for (let b = 0; b < count; b++) {
    const index = indices[start + b];
    const source = index * stride;
    const target = b * stride;
    y[b] = images.labels[index];
    if (!augment) {
      for (let i = 0; i < stride; i++) x[target + i] = images.pixels[source + i] * scale;
      continue;
    }
    const { map, brightness } = augment();
    const factor = scale * brightness;
    const ceiling = 255 * scale;
    for (let p = 0; p < pixelsPerImage; p++) {
      const from = source + map[p] * 3;
      const to = target + p * 3;
      x[to] = min(ceiling, images.pixels[from] * factor);
      x[to + 1] = min(ceiling, images.pixels[from + 1] * factor);
      x[to + 2] = min(ceiling, images.pixels[from + 2] * factor);
    }
  }
  return count;
}

/** Mean binary cross-entropy with Keras' clipping, so validation loss reads like Keras'. */
export function binaryCrossEntropy(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  const epsilon = 1e-7;
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = min(1 - epsilon, max(epsilon, probabilities[i]));
    sum -= labels[i] ? log(p) : log(1 - p);
  }
  return labels.length ? sum / labels.length : NaN;
}

export function accuracyAt(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold = 0.5): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if ((probabilities[i] >= threshold ? 1 : 0) === labels[i]) correct++;
  return labels.length ? correct / labels.length : NaN;
}
