import { decodeImage, ImageDecodeError } from '../data/decode';
import { encodePng, PngColorType } from '../data/png-encode';
import { badRequest } from './http-error';
import type { ImageInput } from './image-input';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];

/**
 * Turns one request image into the model's size x size RGB bytes, through the same decoder and
 * resize as training. A pixel array of another size goes through a PNG so that it, too, is resized
 * exactly as a training image was.
 */
export async function prepareImage(input: ImageInput, size: number): Promise<Uint8Array> {
  if ('pixels' in input) {
    const { width, height, rgb } = input.pixels;
    if (width === size && height === size) return rgb;
    return decode(await encodePng({ width, height, colorType: PngColorType.rgb, data: rgb }), size, input.where);
  }
  if (!startsWith(input.encoded, PNG_SIGNATURE) && !startsWith(input.encoded, JPEG_SIGNATURE)) {
    throw badRequest(`${input.where}: not a PNG or JPEG image (its first bytes are ${hex(input.encoded.subarray(0, 4))})`);
  }
  return decode(input.encoded, size, input.where);
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
