import { promisify } from 'node:util';
import { crc32, deflate } from 'node:zlib';

const deflateAsync = promisify(deflate);

/** PNG colour types (PNG spec 11.2.2). */
export const PngColorType = { grey: 0, rgb: 2, palette: 3, greyAlpha: 4, rgba: 6 } as const;
export type PngColorType = (typeof PngColorType)[keyof typeof PngColorType];

const CHANNELS: Record<PngColorType, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngImage {
  readonly width: number;
  readonly height: number;
  readonly colorType: PngColorType;
  /** @default 8; 16 stores each sample big-endian in two bytes of `data` (palette images must be 8). */
  readonly bitDepth?: 8 | 16;
  /** Samples row after row, no filter bytes: width * height * channels * (bitDepth / 8) bytes. */
  readonly data: Uint8Array;
  /** RGB triples, for the palette colour type. */
  readonly palette?: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

/**
 * Encodes a non-interlaced PNG of any colour type. Our own writer rather than the image library's,
 * because that one only writes RGBA: the synthetic set is RGB like the NIH images, and the loader tests
 * need grey, palette and 16-bit files.
 */
export async function encodePng(image: PngImage): Promise<Buffer> {
  const bitDepth = image.bitDepth ?? 8;
  const rowBytes = image.width * CHANNELS[image.colorType] * (bitDepth / 8);
  if (image.data.length !== rowBytes * image.height) {
    throw new RangeError(`PNG data has ${image.data.length} bytes, expected ${rowBytes * image.height}`);
  }
  // Each row is prefixed by its filter type; 0 (none) keeps the writer simple.
  const raw = Buffer.alloc((rowBytes + 1) * image.height);
  for (let y = 0; y < image.height; y++) {
    raw.set(image.data.subarray(y * rowBytes, (y + 1) * rowBytes), y * (rowBytes + 1) + 1);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(image.width, 0);
  header.writeUInt32BE(image.height, 4);
  header.set([bitDepth, image.colorType, 0, 0, 0], 8);
  const chunks = [chunk('IHDR', header)];
  if (image.palette) chunks.push(chunk('PLTE', image.palette));
  chunks.push(chunk('IDAT', await deflateAsync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat([SIGNATURE, ...chunks]);
}

function chunk(type: string, body: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + body.length);
  out.writeUInt32BE(body.length, 0);
  out.write(type, 4, 'latin1');
  out.set(body, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
  return out;
}
