import type { Preprocessing } from '../models/preprocessing';

/** What `/metadata` and every prediction report about the model being served. */
export interface ModelInfo {
  /** Registry name when served from the registry, otherwise the architecture name. */
  readonly name: string;
  /** Registry version, or the run id / run folder name, or `local` for a bare model folder. */
  readonly version: string;
  /** The `--model` argument it was loaded from. */
  readonly source: string;
  readonly preprocessing: Preprocessing;
  /** The run's test metrics, when known. */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** A model ready to score images of `preprocessing.inputSize` squared RGB bytes each. */
export interface ServedModel {
  readonly info: ModelInfo;
  /** P(positive class) for each image, in order. */
  readonly predict: (images: readonly Uint8Array[]) => Promise<Float32Array> | Float32Array;
}
