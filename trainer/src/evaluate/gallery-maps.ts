import type * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../data/types';
import { createActivationMapper } from './activation-map';
import { overlayPng } from './activation-overlay';

/** Activation maps of some cells of a split, laid over them, and one line on how they were made. */
export interface GalleryMaps {
  /** Overlay PNG by index into the split. */
  readonly overlays: ReadonlyMap<number, Buffer>;
  /** For the report: the method, the layer and the map's resolution. */
  readonly description: string;
}

/**
 * HiResCAM maps (activation-map.ts) of the cells at `indices`, each laid over its cell. A model
 * whose maps cannot be computed gets none, with a warning: the report is written without them.
 */
export async function galleryMaps(
  model: tf.LayersModel, images: LabeledImages, indices: readonly number[], scale: number, log: (line: string) => void,
): Promise<GalleryMaps | undefined> {
  if (indices.length === 0) return undefined;
  let mapper;
  try {
    mapper = createActivationMapper(model);
  } catch (error) {
    log(`warning: no activation maps in the report: ${(error as Error).message}`);
    return undefined;
  }
  const stride = images.size * images.size * 3;
  const pixels = new Uint8Array(indices.length * stride);
  indices.forEach((index, k) => pixels.set(images.pixels.subarray(index * stride, (index + 1) * stride), k * stride));
  const maps = await mapper.explain(pixels, indices.length, scale);
  const overlays = await Promise.all(maps.map((map, k) => overlayPng(pixels.subarray(k * stride, (k + 1) * stride), map.values, images.size)));
  const [height, width] = mapper.resolution;
  return {
    overlays: new Map(indices.map((index, k) => [index, overlays[k]])),
    description: `HiResCAM on ${mapper.layer}, the model's last ${width}x${height} feature map, scaled up to the cell`,
  };
}
