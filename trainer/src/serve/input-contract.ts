import { ASPECT_RATIO } from '../models/preprocessing';
import { badRequest } from './http-error';

/**
 * What `/invocations` accepts, in one place: the checks below enforce it, `/metadata` publishes it
 * and the README states it.
 */

/** How a JSON pixel array is scaled: 0-255 integers (the default) or 0-1 floats, declared by the request. */
export const PIXEL_RANGES = ['0-255', '0-1'] as const;
export type PixelRange = (typeof PIXEL_RANGES)[number];

/**
 * The NIH set's cell crops are 40 to 394 px across. An image whose shorter side is under half the
 * smallest of them is too small to show a parasite (a ring is a few pixels of a 40 px cell), so it
 * is refused rather than stretched up and scored as if it were a cell; a model trained on smaller
 * images (`--image-size` 16 to 19) takes images of its own size.
 */
export const MIN_SIDE_PX = 20;

/** The shortest side a model of this input size takes. */
export function minSide(inputSize: number): number {
  return Math.min(MIN_SIDE_PX, inputSize);
}

/**
 * The warning for one image, undefined when its size and shape are fine; a 400 when it is too
 * small to hold a cell or too far from square.
 */
export function checkImageShape(width: number, height: number, inputSize: number, where: string): string | undefined {
  const smallest = minSide(inputSize);
  if (Math.min(width, height) < smallest) {
    throw badRequest(
      `${where}: ${width}x${height} px is too small to hold a cell (shorter side under ${smallest} px; `
        + 'the cells the model learned from are 40 to 394 px across): send the crop of one cell at the resolution of the smear',
    );
  }
  const ratio = Math.max(width, height) / Math.min(width, height);
  const shape = `${width}x${height} px (aspect ratio ${ratio.toFixed(2)})`;
  if (ratio > ASPECT_RATIO.refuseAbove) {
    throw badRequest(
      `${where}: ${shape} is too far from square (more than ${ASPECT_RATIO.refuseAbove}:1); `
        + 'the model scores single-cell crops stretched to a square: crop the image around one cell',
    );
  }
  if (ratio > ASPECT_RATIO.warnAbove) {
    return `image is ${shape}; stretched to a square for the model, the cell is distorted (best under ${ASPECT_RATIO.warnAbove}:1)`;
  }
  return undefined;
}

/** The contract as `/metadata` reports it. */
export function inputContract(inputSize: number): Record<string, unknown> {
  return {
    encodings: ['base64 PNG or JPEG string', '{"b64": "..."}', 'raw image/png or image/jpeg body', 'height x width x 3 pixel array'],
    pixelArray: {
      shape: 'height x width x 3 (RGB)',
      range: '0-255 integers by default; 0-1 numbers with "params": {"pixel_range": "0-1"}',
      pixelRanges: PIXEL_RANGES,
    },
    resizedTo: `${inputSize}x${inputSize}`,
    minSide: {
      px: minSide(inputSize),
      rule: 'an image whose shorter side is under px is a 400: too small to hold a cell (the NIH cells are 40 to 394 px across)',
    },
    aspectRatio: {
      warnAbove: ASPECT_RATIO.warnAbove,
      refuseAbove: ASPECT_RATIO.refuseAbove,
      rule: 'long side / short side: above warnAbove the prediction carries a "warning", above refuseAbove the request is a 400',
    },
  };
}
