import { encodePng, PngColorType } from '../data/png-encode';
import type { LabeledImages } from '../data/types';

/** One image of a split as a PNG, at the size the model saw it, for the report's cell galleries. */
export function cellThumbnail(images: LabeledImages, index: number): Promise<Buffer> {
  const bytes = images.size * images.size * 3;
  if (!Number.isInteger(index) || index < 0 || index >= images.labels.length) {
    throw new RangeError(`image ${index} is out of range: the split holds ${images.labels.length}`);
  }
  return encodePng({
    width: images.size,
    height: images.size,
    colorType: PngColorType.rgb,
    data: images.pixels.subarray(index * bytes, (index + 1) * bytes),
  });
}
