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
  /** Activation maps for the same images (`explain: true`); absent when the model cannot give them. */
  readonly explain?: (images: readonly Uint8Array[]) => Promise<Explanation[]>;
}

/** Where the model looked for one image: a HiResCAM map at the model's input size. */
export interface Explanation {
  readonly method: 'HiResCAM';
  /** The layer whose feature map was weighed. */
  readonly layer: string;
  /** The map's highest point, as fractions of the image's width and height. */
  readonly peak: { readonly x: number; readonly y: number };
  /** The map alone and laid over the image, PNGs in base64. */
  readonly map_png: string;
  readonly overlay_png: string;
}
