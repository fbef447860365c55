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
}

export function defaultPreprocessing(model: string, inputSize: number, threshold = DEFAULT_THRESHOLD): Preprocessing {
  return {
    inputSize,
    channels: 3,
    scale: 1 / 255,
    classNames: [...CLASS_NAMES],
    positiveClass: CLASS_NAMES[1],
    threshold,
    model,
  };
}
