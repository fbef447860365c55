/**
 * Bound once: inside jest's vm context every global lookup (`Math`) goes through a slow interceptor,
 * which made this generator 40 times slower in tests than in a normal run.
 */
const { imul } = Math;

/** A function returning uniform numbers in [0, 1), like Math.random but reproducible. */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit generator, good enough for shuffles, splits and synthetic images
 * (not for cryptography). The same seed always gives the same sequence, on every platform.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform number in [low, high). */
export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

/** Uniform integer in [low, high] (both included). */
export function randomInt(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** Fisher-Yates shuffle, in place; returns the same array. */
export function shuffleInPlace<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/**
 * A seed for one part of a seeded process (e.g. seed, epoch, step), so that part can be redone
 * alone (a resumed epoch) without replaying the random draws of everything before it.
 */
export function deriveSeed(...keys: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const key of keys) {
    h = imul(h ^ (key >>> 0), 0x01000193);
    h ^= h >>> 15;
    h = imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
  }
  return h >>> 0;
}
