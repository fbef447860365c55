import { mapGallery, selectGallery } from '../../../trainer/src/evaluate/gallery';

const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.05, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.55, 0.5];

test('errors: missed parasites and false alarms, each most confidently wrong first', () => {
  const gallery = selectGallery(LABELS, PROBS, { threshold: 0.5, seed: 1 });
  expect(gallery.falseNegatives).toEqual([1, 2]);
  expect(gallery.falsePositives).toEqual([4, 8, 9]);
  expect(gallery.errorCounts).toEqual({ falseNegatives: 2, falsePositives: 3 });
});

test('the error lists are cut, the counts are not', () => {
  const gallery = selectGallery(LABELS, PROBS, { threshold: 0.5, seed: 1, maxPerError: 1 });
  expect(gallery.falseNegatives).toEqual([1]);
  expect(gallery.falsePositives).toEqual([4]);
  expect(gallery.errorCounts).toEqual({ falseNegatives: 2, falsePositives: 3 });
});

test('uncertain cells are those closest to the threshold; examples are seeded samples of each class', () => {
  const gallery = selectGallery(LABELS, PROBS, { threshold: 0.5, seed: 1, uncertain: 3, examplesPerClass: 2 });
  expect(gallery.uncertain).toEqual([9, 8, 2]);
  expect(gallery.examples[1]).toHaveLength(2);
  expect(gallery.examples[1].every((i) => LABELS[i] === 1)).toBe(true);
  expect(gallery.examples[0].every((i) => LABELS[i] === 0)).toBe(true);
  expect(selectGallery(LABELS, PROBS, { threshold: 0.5, seed: 1, examplesPerClass: 2 }).examples).toEqual(gallery.examples);
});

test('mapGallery looks every index up and keeps the counts', async () => {
  const gallery = selectGallery(LABELS, PROBS, { threshold: 0.5, seed: 1 });
  const named = await mapGallery(gallery, async (i) => `cell${i}`);
  expect(named.falseNegatives).toEqual(['cell1', 'cell2']);
  expect(named.errorCounts).toBe(gallery.errorCounts);
});
