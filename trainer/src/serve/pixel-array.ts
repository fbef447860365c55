import { badRequest } from './http-error';
import type { RgbImage } from './image-input';
import type { PixelRange } from './input-contract';

const SHAPE_HINT = 'expected height x width x 3 numbers';

const RANGES: Record<PixelRange, { readonly accepts: (v: number) => boolean; readonly expected: string; readonly toByte: (v: number) => number }> = {
  '0-255': {
    accepts: (v) => Number.isInteger(v) && v >= 0 && v <= 255,
    expected: 'integers from 0 to 255 (for floats from 0 to 1, send "params": {"pixel_range": "0-1"})',
    toByte: (v) => v,
  },
  '0-1': {
    accepts: (v) => v >= 0 && v <= 1,
    expected: 'numbers from 0 to 1, as "params": {"pixel_range": "0-1"} declares',
    toByte: (v) => Math.round(v * 255),
  },
};

/**
 * Turns a JSON pixel array (rows of [r, g, b] pixels) into RGB bytes, naming the first element that
 * breaks the shape or the declared range: a 0-1 image read as 0-255 would look black to the model
 * and still get a confident answer.
 */
export function pixelArrayToImage(value: readonly unknown[], where: string, range: PixelRange): RgbImage {
  const height = value.length;
  const firstRow = value[0];
  if (height === 0 || !Array.isArray(firstRow) || firstRow.length === 0) {
    throw badRequest(`${where}: pixel array has no pixels; ${SHAPE_HINT}`);
  }
  const width = firstRow.length;
  const { accepts, expected, toByte } = RANGES[range];
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
        if (typeof v !== 'number' || !accepts(v)) {
          throw badRequest(`${where}: pixel [${y}][${x}][${c}] is ${JSON.stringify(v)}; expected ${expected}`);
        }
        rgb[(y * width + x) * 3 + c] = toByte(v);
      }
    }
  }
  return { width, height, rgb };
}
