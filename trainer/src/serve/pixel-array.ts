import { badRequest } from './http-error';
import type { RgbImage } from './image-input';

const SHAPE_HINT = 'expected height x width x 3 numbers from 0 to 255';

/** Turns a JSON pixel array (rows of [r, g, b] pixels) into RGB bytes, naming the first element that breaks the shape. */
export function pixelArrayToImage(value: readonly unknown[], where: string): RgbImage {
  const height = value.length;
  const firstRow = value[0];
  if (height === 0 || !Array.isArray(firstRow) || firstRow.length === 0) {
    throw badRequest(`${where}: pixel array has no pixels; ${SHAPE_HINT}`);
  }
  const width = firstRow.length;
  const rgb = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    const row = value[y];
    if (!Array.isArray(row) || row.length !== width) {
      throw badRequest(`${where}: pixel array row ${y} is not a list of ${width} pixels like row 0; ${SHAPE_HINT}`);
    }
    for (let x = 0; x < width; x++) {
      const pixel: unknown = row[x];
      if (!Array.isArray(pixel) || pixel.length !== 3) {
        throw badRequest(`${where}: pixel [${y}][${x}] is not an [r, g, b] triple; ${SHAPE_HINT}`);
      }
      for (let c = 0; c < 3; c++) {
        const v: unknown = pixel[c];
        if (typeof v !== 'number' || !(v >= 0 && v <= 255)) {
          throw badRequest(`${where}: pixel [${y}][${x}][${c}] is ${JSON.stringify(v)}; ${SHAPE_HINT}`);
        }
        rgb[(y * width + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return { width, height, rgb };
}
