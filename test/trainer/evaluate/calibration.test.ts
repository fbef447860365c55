import { calibration, probabilityHistogram } from '../../../trainer/src/evaluate/calibration';

test('Brier score, ECE and bins on a hand-worked example', () => {
  // Bins 0, 1, 8 and 9 each hold one image; observed shares 0, 0, 1, 1.
  const result = calibration([0, 0, 1, 1], [0.05, 0.15, 0.85, 0.95]);
  expect(result.brier).toBeCloseTo((0.05 ** 2 + 0.15 ** 2 + 0.15 ** 2 + 0.05 ** 2) / 4, 12);
  expect(result.ece).toBeCloseTo((0.05 + 0.15 + 0.15 + 0.05) / 4, 12);
  expect(result.bins).toHaveLength(10);
  expect(result.bins[8]).toMatchObject({ lower: 0.8, count: 1, observed: 1 });
  expect(result.bins[8].meanPredicted).toBeCloseTo(0.85, 12);
  expect(result.bins[8].upper).toBeCloseTo(0.9, 12);
  expect(result.bins[4].count).toBe(0);
  expect(result.bins[4].observed).toBeNaN();
});

test('a model that is right as often as it says is calibrated (ECE 0); always saying 0.5 scores Brier 0.25', () => {
  // In the 0.7-0.8 bin, 7 of 10 are positive and every prediction is 0.7.
  const labels = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
  expect(calibration(labels, labels.map(() => 0.7)).ece).toBeCloseTo(0, 12);
  expect(calibration(labels, labels.map(() => 0.5)).brier).toBeCloseTo(0.25, 12);
  // Overconfident: says 0.99 and is right 7 times in 10.
  expect(calibration(labels, labels.map(() => 0.99)).ece).toBeCloseTo(0.29, 12);
});

test('a probability of exactly 1 falls in the last bin', () => {
  expect(calibration([1], [1]).bins[9].count).toBe(1);
  expect(probabilityHistogram([1, 0], [1, 0], 4).map((b) => b.counts)).toEqual([[1, 0], [0, 0], [0, 0], [0, 1]]);
});

test('the histogram counts each class per bin', () => {
  const bins = probabilityHistogram([0, 0, 1, 1, 1], [0.01, 0.52, 0.53, 0.97, 0.99]);
  expect(bins).toHaveLength(20);
  expect(bins[0].counts).toEqual([1, 0]);
  expect(bins[10].counts).toEqual([1, 1]);
  expect(bins[19].counts).toEqual([0, 2]);
});
