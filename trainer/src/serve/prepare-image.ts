import { decodeImage, ImageDecodeError } from '../data/decode';
import { encodePng, PngColorType } from '../data/png-encode';
import { badRequest } from './http-error';
import type { ImageInput } from './image-input';
import { encodedImageSize } from './image-size';
import { checkImageShape } from './input-contract';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/** One request image as the model takes it, and what the answer should warn about it. */
export interface PreparedImage {
  readonly rgb: Uint8Array;
  readonly warning?: string;
}

/**
 * Turns one request image into the model's size x size RGB bytes, through the same decoder and
 * resize as training. A pixel array of another size goes through a PNG so that it, too, is resized
 * exactly as a training image was. An image too small to hold a cell is refused, and one far from
 * square refused or warned about (input-contract.ts).
 */
export async function prepareImage(input: ImageInput, size: number): Promise<PreparedImage> {
  if ('pixels' in input) {
    const { width, height, rgb } = input.pixels;
    const warning = checkImageShape(width, height, size, input.where);
    if (width === size && height === size) return { rgb, warning };
    return { rgb: await decode(await encodePng({ width, height, colorType: PngColorType.rgb, data: rgb }), size, input.where), warning };
  }
  if (!startsWith(input.encoded, PNG_SIGNATURE) && !startsWith(input.encoded, JPEG_SIGNATURE)) {
    throw badRequest(`${input.where}: not a PNG or JPEG image (its first bytes are ${hex(input.encoded.subarray(0, 4))})`);
  }
  const dimensions = encodedImageSize(input.encoded);
  const warning = dimensions && checkImageShape(dimensions.width, dimensions.height, size, input.where);
  return { rgb: await decode(input.encoded, size, input.where), warning };
}

async function decode(bytes: Uint8Array, size: number, where: string): Promise<Uint8Array> {
  try {
    return await decodeImage(bytes, size);
  } catch (error) {
    if (error instanceof ImageDecodeError) throw badRequest(`${where}: corrupt or truncated image: ${error.message}`);
    throw error;
  }
}

function startsWith(bytes: Uint8Array, signature: readonly number[]): boolean {
  return signature.every((byte, i) => bytes[i] === byte);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ') || '(none)';
}
