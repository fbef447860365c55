import { FastResizeFilter, ResizeFit, Transformer } from '@napi-rs/image';

/** An image that cannot be decoded: corrupt, truncated, or not an image format we read. */
export class ImageDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ImageDecodeError';
  }
}

/**
 * Decodes a PNG (any colour type and bit depth: grey, grey+alpha, RGB, RGBA, palette, 16-bit) or a JPEG
 * and resizes it to size x size RGB, uint8, row-major. Training and the model server both call this, so
 * a served image gets exactly the pixels a trained one did.
 *
 * - Aspect ratio is ignored (stretched to the square), as `Preprocessing.inputSize` documents.
 * - Resizing is `@napi-rs/image` fastResize with the bilinear filter: a convolution that averages all
 *   covered pixels when shrinking (no aliasing), and the library's fastest path after box.
 * - Alpha is composited over black, the colour of the NIH slides' background around each cell, so a
 *   transparent margin looks like the margins the model trained on. 16-bit samples keep their top 8 bits.
 *
 * @throws ImageDecodeError for data that is not a decodable image.
 */
export async function decodeImage(bytes: Uint8Array, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size * size * 3);
  await decodeImageInto(bytes, size, out, 0);
  return out;
}

/** decodeImage writing into `target` at byte `offset`, so a loader can fill one large buffer without copies. */
export async function decodeImageInto(bytes: Uint8Array, size: number, target: Uint8Array, offset: number): Promise<void> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`image size must be a positive integer, got ${size}`);
  let rgba: Buffer;
  try {
    // fastResize always yields 8-bit RGBA, whatever the source colour type.
    rgba = await new Transformer(bytes)
      .fastResize({ width: size, height: size, filter: FastResizeFilter.Bilinear, fit: ResizeFit.Fill })
      .rawPixels();
  } catch (err) {
    throw new ImageDecodeError(`cannot decode image: ${(err as Error).message}`, { cause: err });
  }
  if (rgba.length !== size * size * 4) {
    throw new ImageDecodeError(`decoder returned ${rgba.length} bytes for a ${size}x${size} RGBA image`);
  }
  compositeOverBlack(rgba, target, offset);
}

function compositeOverBlack(rgba: Uint8Array, target: Uint8Array, offset: number): void {
  for (let i = 0, o = offset; i < rgba.length; i += 4, o += 3) {
    const alpha = rgba[i + 3];
    if (alpha === 255) {
      target[o] = rgba[i];
      target[o + 1] = rgba[i + 1];
      target[o + 2] = rgba[i + 2];
    } else {
      target[o] = (rgba[i] * alpha + 127) / 255;
      target[o + 1] = (rgba[i + 1] * alpha + 127) / 255;
      target[o + 2] = (rgba[i + 2] * alpha + 127) / 255;
    }
  }
}
