import { CLASS_NAMES } from '../data/types';
import { DEFAULT_THRESHOLD } from '../evaluate/threshold';

/**
 * `preprocessing.json`, saved beside every model: what a caller must do to an image before
 * `model.predict`, and how to read the output. The server and MLflow's MLmodel file read it.
 */
export interface Preprocessing {
  /** Images are resized (aspect ratio ignored) to inputSize x inputSize RGB. */
  readonly inputSize: number;
  readonly channels: 3;
  /** Pixel values are multiplied by this (1/255: inputs in [0, 1]). */
  readonly scale: number;
  /** Class names in label order; the model outputs one sigmoid: P(classNames[1]). */
  readonly classNames: readonly string[];
  readonly positiveClass: string;
  /** Probability at or above which an image is labelled positive. */
  readonly threshold: number;
  /** The registry name of the architecture, e.g. `compact`. */
  readonly model: string;
  /**
   * Test-time augmentation: P is the mean of the model's outputs for the image under the 8
   * symmetries of the square (flips and quarter turns). The run chose its threshold and measured
   * its test metrics this way, so whoever serves the model must score images the same way.
   */
  readonly tta: boolean;
}

/**
 * The model was trained on crops of single cells, which are close to square, and every image is
 * stretched to a square before scoring. A moderately oblong image is scored with a warning; one
 * more than three times as long as it is wide distorts the cell too much and is refused. Both
 * servers hold images to this: `npm run serve` and the python_function flavor MLflow serves.
 */
export const ASPECT_RATIO = { warnAbove: 1.5, refuseAbove: 3 } as const;

export function defaultPreprocessing(model: string, inputSize: number, threshold = DEFAULT_THRESHOLD, tta = false): Preprocessing {
  return {
    inputSize,
    channels: 3,
    scale: 1 / 255,
    classNames: [...CLASS_NAMES],
    positiveClass: CLASS_NAMES[1],
    threshold,
    model,
    tta,
  };
}
