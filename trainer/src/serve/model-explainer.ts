import type * as tf from '@tensorflow/tfjs';
import { createActivationMapper, type ActivationMapper } from '../evaluate/activation-map';
import { mapPng, overlayPng } from '../evaluate/activation-overlay';
import type { Preprocessing } from '../models/preprocessing';
import type { Explanation } from './served-model';

/**
 * `explain: true` on a request: a HiResCAM map per image (evaluate/activation-map.ts), as PNGs,
 * with its peak. The map's graph is built on the first such request, so a server never asked
 * pays nothing for it.
 */
export function createModelExplainer(model: tf.LayersModel, preprocessing: Preprocessing) {
  const size = preprocessing.inputSize;
  let mapper: ActivationMapper | undefined;
  return async (images: readonly Uint8Array[]): Promise<Explanation[]> => {
    mapper ??= createActivationMapper(model);
    const pixels = new Uint8Array(images.length * size * size * 3);
    images.forEach((image, i) => pixels.set(image, i * size * size * 3));
    const maps = await mapper.explain(pixels, images.length, preprocessing.scale);
    const layer = mapper.layer;
    return Promise.all(maps.map(async (map, i) => ({
      method: 'HiResCAM',
      layer,
      peak: { x: (map.peak.x + 0.5) / size, y: (map.peak.y + 0.5) / size },
      map_png: (await mapPng(map.values, size)).toString('base64'),
      overlay_png: (await overlayPng(images[i], map.values, size)).toString('base64'),
    })));
  };
}
