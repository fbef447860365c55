import { encodedImageSize } from '../../../trainer/src/serve/image-size';
import { jpeg, png } from './tiny-model';

describe('encodedImageSize reads the size from the header', () => {
  test.each([[16, 16], [30, 15], [7, 40]])('PNG and JPEG of %ix%i', async (width, height) => {
    expect(encodedImageSize(await png(100, width, height))).toEqual({ width, height });
    expect(encodedImageSize(await jpeg(100, width, height))).toEqual({ width, height });
  });

  test('a header it cannot read gives nothing, and the decoder reports the image', async () => {
    expect(encodedImageSize((await jpeg(100)).subarray(0, 12))).toBeUndefined();
    expect(encodedImageSize(Buffer.from('GIF89a....'))).toBeUndefined();
  });
});
