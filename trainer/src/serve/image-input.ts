/** One image of a request, before decoding; `where` names it in error messages, e.g. `instances[3]`. */
export type ImageInput =
  | { readonly where: string; readonly encoded: Uint8Array }
  | { readonly where: string; readonly pixels: RgbImage };

/** Interleaved RGB bytes, row after row. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}
