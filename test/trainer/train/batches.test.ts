import {
  accuracyAt, binaryCrossEntropy, createAugmentation, fillBatch, shuffledOrder, squareSymmetries,
} from '../../../trainer/src/train/batches';
import type { LabeledImages } from '../../../trainer/src/data/types';

function sequence(seed: number) {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}

function imagesOf(size: number, count: number): LabeledImages {
  const pixels = new Uint8Array(count * size * size * 3).map((_, i) => i % 251);
  return { size, pixels, labels: Uint8Array.from({ length: count }, (_, i) => i % 2), files: [] };
}

describe('shuffledOrder', () => {
  test('is a permutation that repeats for the same seed and differs for another', () => {
    const a = shuffledOrder(50, sequence(1));
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(shuffledOrder(50, sequence(1))).toEqual(a);
    expect(shuffledOrder(50, sequence(2))).not.toEqual(a);
  });
});

describe('squareSymmetries', () => {
  test('gives 8 distinct permutations of the pixels', () => {
    const maps = squareSymmetries(5);
    expect(maps).toHaveLength(8);
    for (const map of maps) expect(new Set(map).size).toBe(25);
    expect(new Set(maps.map((m) => m.join(','))).size).toBe(8);
  });

  test('a quarter turn moves the top-left corner to the top-right', () => {
    // out[p] = in[map[p]]: the pixel that lands at (0, last) came from (0, 0) under a clockwise turn.
    const quarterTurns = squareSymmetries(3).slice(1, 4);
    expect(quarterTurns.some((map) => map[2] === 0 && map[8] === 2)).toBe(true);
  });
});

describe('fillBatch', () => {
  test('without augmentation writes scaled pixels and labels of the chosen images', () => {
    const images = imagesOf(2, 3);
    const x = new Float32Array(2 * 12);
    const y = new Float32Array(2);
    expect(fillBatch(images, [2, 0, 1], 0, 2, 0.5, x, y)).toBe(2);
    expect(Array.from(x.subarray(0, 12))).toEqual(Array.from(images.pixels.subarray(24, 36), (v) => v * 0.5));
    expect(Array.from(y)).toEqual([0, 0]);
  });

  test('with augmentation keeps the pixel multiset up to brightness and stays in range', () => {
    const images = imagesOf(4, 1);
    const x = new Float32Array(48);
    const y = new Float32Array(1);
    fillBatch(images, [0], 0, 1, 1 / 255, x, y, createAugmentation(squareSymmetries(4), sequence(3), 0));
    const sortedIn = Array.from(images.pixels, (v) => v / 255).sort();
    expect(Array.from(x).sort().map((v) => v.toFixed(5))).toEqual(sortedIn.map((v) => v.toFixed(5)));
    fillBatch(images, [0], 0, 1, 1 / 255, x, y, createAugmentation(squareSymmetries(4), sequence(4), 0.5));
    expect(Math.max(...x)).toBeLessThanOrEqual(1);
  });
});

describe('binaryCrossEntropy and accuracyAt', () => {
  test('match hand-computed values', () => {
    // -(ln 0.8 + ln(1 - 0.4)) / 2
    expect(binaryCrossEntropy([1, 0], [0.8, 0.4])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.6)) / 2, 10);
    expect(accuracyAt([1, 0, 1, 0], [0.9, 0.6, 0.5, 0.1])).toBe(0.75);
  });

  test('clip certainty so a confident miss is large but finite', () => {
    expect(binaryCrossEntropy([1], [0])).toBeCloseTo(-Math.log(1e-7), 5);
  });
});
