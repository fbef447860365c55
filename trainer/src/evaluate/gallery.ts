import { mulberry32, shuffleInPlace } from '../data/random';
import { checkInputs } from './metrics';

/** The test cells the report shows; `T` is an index into the test split until the cells are looked up. */
export interface Gallery<T = number> {
  /** A seeded random sample of each class, indexed by label: [negatives, positives]; lowest probability first. */
  readonly examples: readonly [T[], T[]];
  /**
   * Wrong at the threshold, most confidently wrong first, each list cut at `maxPerError`. The report
   * shows false negatives first: a missed parasite is the costly error.
   */
  readonly falseNegatives: T[];
  readonly falsePositives: T[];
  /** How many there are in all, of which the lists may show only the first ones. */
  readonly errorCounts: { readonly falseNegatives: number; readonly falsePositives: number };
  /** Closest to the threshold, closest first. */
  readonly uncertain: T[];
  /** How the cells' activation maps were made, when they have them (see gallery-maps.ts). */
  readonly activationMaps?: string;
}

export interface GalleryOptions {
  readonly threshold: number;
  readonly seed: number;
  /** @default 8 */
  readonly examplesPerClass?: number;
  /** @default 24 */
  readonly maxPerError?: number;
  /** @default 12 */
  readonly uncertain?: number;
}

export function selectGallery(labels: ArrayLike<number>, probs: ArrayLike<number>, opts: GalleryOptions): Gallery {
  checkInputs(labels, probs);
  const indices = Array.from({ length: labels.length }, (_, i) => i);
  const random = mulberry32(opts.seed);
  const examplesPerClass = opts.examplesPerClass ?? 8;
  const sample = (label: number) => shuffleInPlace(indices.filter((i) => labels[i] === label), random).slice(0, examplesPerClass)
    .sort((a, b) => probs[a] - probs[b]);
  const predicted = (i: number) => (probs[i] >= opts.threshold ? 1 : 0);
  const falseNegatives = indices.filter((i) => labels[i] === 1 && predicted(i) === 0).sort((a, b) => probs[a] - probs[b]);
  const falsePositives = indices.filter((i) => labels[i] === 0 && predicted(i) === 1).sort((a, b) => probs[b] - probs[a]);
  const distance = (i: number) => Math.abs(probs[i] - opts.threshold);
  const maxPerError = opts.maxPerError ?? 24;
  return {
    examples: [sample(0), sample(1)],
    falseNegatives: falseNegatives.slice(0, maxPerError),
    falsePositives: falsePositives.slice(0, maxPerError),
    errorCounts: { falseNegatives: falseNegatives.length, falsePositives: falsePositives.length },
    uncertain: [...indices].sort((a, b) => distance(a) - distance(b) || a - b).slice(0, opts.uncertain ?? 12),
  };
}

/** The same gallery with every index turned into what `lookUp` makes of it (a thumbnail, say). */
export async function mapGallery<T>(gallery: Gallery, lookUp: (index: number) => Promise<T>): Promise<Gallery<T>> {
  const all = (list: readonly number[]) => Promise.all(list.map(lookUp));
  const [negatives, positives, falseNegatives, falsePositives, uncertain] = await Promise.all([
    all(gallery.examples[0]), all(gallery.examples[1]), all(gallery.falseNegatives), all(gallery.falsePositives), all(gallery.uncertain),
  ]);
  return { examples: [negatives, positives], falseNegatives, falsePositives, errorCounts: gallery.errorCounts, uncertain };
}
