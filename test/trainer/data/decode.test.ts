import { Transformer } from '@napi-rs/image';
import { ImageDecodeError, decodeImage } from '../../../trainer/src/data/decode';
import { PngColorType, encodePng } from '../../../trainer/src/data/png-encode';
import { type ColorTypeName, corrupted, solidPng, truncated } from '../../support/image-fixtures';

/** Every pixel of an RGB image, as [r, g, b] triples that differ from `expected` by at most `tolerance`. */
function expectEveryPixel(rgb: Uint8Array, expected: readonly number[], tolerance = 1): void {
  let worst = 0;
  for (let i = 0; i < rgb.length; i++) worst = Math.max(worst, Math.abs(rgb[i] - expected[i % 3]));
  expect(worst).toBeLessThanOrEqual(tolerance);
}

describe('decodeImage', () => {
  // GIVEN one colour (200, 120, 150), or grey 200, stored in each PNG colour type and bit depth
  test.each<[ColorTypeName, 8 | 16, number[]]>([
    ['grey', 8, [200, 200, 200]],
    ['grey', 16, [200, 200, 200]],
    ['greyAlpha', 8, [200, 200, 200]],
    ['greyAlpha', 16, [200, 200, 200]],
    ['rgb', 8, [200, 120, 150]],
    ['rgb', 16, [200, 120, 150]],
    ['rgba', 8, [200, 120, 150]],
    ['rgba', 16, [200, 120, 150]],
    ['palette', 8, [200, 120, 150]],
  ])('reads a %s %i-bit PNG as RGB of the requested size', async (colorType, bitDepth, expected) => {
    const png = await solidPng({ width: 37, height: 23, colorType, bitDepth });
    const rgb = await decodeImage(png, 16);
    expect(rgb).toHaveLength(16 * 16 * 3);
    expectEveryPixel(rgb, expected);
  });

  test('composites alpha over black, the slides\' background colour', async () => {
    const png = await solidPng({ width: 20, height: 20, colorType: 'rgba', color: [200, 100, 50, 128] });
    expectEveryPixel(await decodeImage(png, 8), [100, 50, 25]);
    const transparent = await solidPng({ width: 20, height: 20, colorType: 'greyAlpha', color: [255, 0, 0, 0] });
    expectEveryPixel(await decodeImage(transparent, 8), [0, 0, 0], 0);
  });

  test('enlarges small images and stretches non-square ones to the square', async () => {
    // Left half red, right half blue, 3 px tall: after stretching to 40x40 the halves stay halves.
    const width = 6;
    const data = new Uint8Array(width * 3 * 3);
    for (let p = 0; p < width * 3; p++) data.set(p % width < width / 2 ? [255, 0, 0] : [0, 0, 255], p * 3);
    const rgb = await decodeImage(await encodePng({ width, height: 3, colorType: PngColorType.rgb, data }), 40);
    const at = (x: number, y: number) => Array.from(rgb.subarray((y * 40 + x) * 3, (y * 40 + x) * 3 + 3));
    expect(at(2, 0)).toEqual([255, 0, 0]);
    expect(at(2, 39)).toEqual([255, 0, 0]);
    expect(at(37, 20)).toEqual([0, 0, 255]);
  });

  test('reads JPEG too, for the model server', async () => {
    const png = await solidPng({ width: 32, height: 32, color: [200, 120, 150, 255] });
    const jpeg = await new Transformer(png).jpeg(95);
    expectEveryPixel(await decodeImage(jpeg, 10), [200, 120, 150], 4);
  });

  test.each([
    ['truncated', async () => truncated(await solidPng({ width: 50, height: 50 }), 0.6)],
    ['corrupted', async () => corrupted(await solidPng({ width: 50, height: 50 }))],
    ['not an image', async () => Buffer.from('Thumbs.db is not a picture')],
    ['empty', async () => Buffer.alloc(0)],
  ])('throws ImageDecodeError for %s data', async (_name, make) => {
    await expect(decodeImage(await make(), 10)).rejects.toBeInstanceOf(ImageDecodeError);
  });
});
