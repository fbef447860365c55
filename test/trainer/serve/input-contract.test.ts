import { checkImageShape, MIN_SIDE_PX, minSide } from '../../../trainer/src/serve/input-contract';

describe('the smallest image the server scores', () => {
  test('is 20 px on the shorter side, half the smallest cell of the NIH set (40 px)', () => {
    expect(MIN_SIDE_PX).toBe(20);
    expect(() => checkImageShape(40, 19, 100, 'instances[0]')).toThrow(/^instances\[0\]: 40x19 px is too small to hold a cell \(shorter side under 20 px;/);
    expect(() => checkImageShape(1, 1, 100, 'body')).toThrow(/^body: 1x1 px is too small/);
    expect(checkImageShape(20, 20, 100, 'instances[0]')).toBeUndefined();
  });

  test('a model trained on smaller images (--image-size 16 to 19) takes images of its own size', () => {
    expect(minSide(16)).toBe(16);
    expect(minSide(64)).toBe(20);
    expect(checkImageShape(16, 16, 16, 'instances[0]')).toBeUndefined();
    expect(() => checkImageShape(15, 16, 16, 'instances[0]')).toThrow(/shorter side under 16 px/);
  });
});
