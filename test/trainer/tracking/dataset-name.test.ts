import { NIH_DATASET } from '../../../trainer/src/config';
import { datasetName } from '../../../trainer/src/tracking/dataset-name';

test.each([
  [NIH_DATASET.url, 'nih-malaria-cell-images'],
  ['synthetic:2000', 'synthetic-cells-2000'],
  ['/home/me/data/cell_images.zip', 'cell_images'],
  ['/home/me/data/real-cells/', 'real-cells'],
  ['C:\\data\\thin smears', 'thin smears'],
  ['https://example.org/sets/malaria-subset.zip?sig=1', 'malaria-subset'],
])('data read from %s is recorded as %s', (source, name) => {
  expect(datasetName(source)).toBe(name);
});
