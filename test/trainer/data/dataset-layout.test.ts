import { UserError } from '../../../trainer/src/user-error';
import { locateDataset } from '../../../trainer/src/data/dataset-layout';

describe('locateDataset', () => {
  test('takes the shallowest folder holding both classes, so a __MACOSX copy is ignored', () => {
    const layout = locateDataset(
      [
        'cell_images/Parasitized/a.png',
        'cell_images/Uninfected/b.PNG',
        'cell_images/Uninfected/.hidden.png',
        '__MACOSX/cell_images/Parasitized/._a.png',
        '__MACOSX/cell_images/Uninfected/._b.png',
      ],
      [],
      'cells.zip',
    );
    expect(layout).toEqual({
      root: 'cell_images',
      images: [
        { file: 'Parasitized/a.png', location: 'cell_images/Parasitized/a.png', label: 1 },
        { file: 'Uninfected/b.PNG', location: 'cell_images/Uninfected/b.PNG', label: 0 },
      ],
      notPng: 1,
    });
  });

  test('accepts class folders in any letter case', () => {
    const layout = locateDataset(['parasitized/a.png', 'UNINFECTED/b.png'], [], 'cells');
    expect(layout.images.map((image) => image.label)).toEqual([0, 1]);
  });

  test('two data sets side by side is an error naming both', () => {
    const files = ['a/Parasitized/1.png', 'a/Uninfected/2.png', 'b/Parasitized/1.png', 'b/Uninfected/2.png'];
    expect(() => locateDataset(files, [], 'cells.zip')).toThrow(UserError);
    expect(() => locateDataset(files, [], 'cells.zip')).toThrow('cells.zip holds several data sets (a/, b/); point --data at one of them');
  });
});
