/** Class names in label order: label 0 is Uninfected, label 1 (the positive class) is Parasitized. */
export const CLASS_NAMES = ['Uninfected', 'Parasitized'] as const;
export type ClassName = (typeof CLASS_NAMES)[number];

/**
 * Decoded images, all resized to one square size. Pixels stay uint8 RGB so the full NIH set at
 * 100x100 needs 827 MB; batches are converted to float32 only when they are fed to a model.
 */
export interface LabeledImages {
  /** Side of the square images, in pixels. */
  readonly size: number;
  /** N * size * size * 3 bytes, RGB, row-major, image after image. */
  readonly pixels: Uint8Array;
  /** 1 = Parasitized, 0 = Uninfected, one per image. */
  readonly labels: Uint8Array;
  /** Path of each image inside the data set, with `/` separators, e.g. `Parasitized/C33P1thinF_IMG_20150619_114756a_cell_179.png`. */
  readonly files: readonly string[];
}

export type SplitName = 'train' | 'validation' | 'test';

/** Which images go where. Saved with every run as `split.json`, so another run can reuse it. */
export interface Split {
  readonly mode: 'patient' | 'cell';
  readonly seed: number;
  readonly fractions: readonly [number, number, number];
  /** Files (as in LabeledImages.files) of each split, sorted. */
  readonly train: readonly string[];
  readonly validation: readonly string[];
  readonly test: readonly string[];
  /** For a cross-validation fold: which of how many (1-based). */
  readonly fold?: { readonly folds: number; readonly fold: number };
  /** `--holdout`: the patients kept out of training and tuning (sorted); a run's test split is exactly their images, a fold's has none of them. */
  readonly holdout?: readonly string[];
}
