import { precisionRecallCurve } from '../../../trainer/src/evaluate/precision-recall';

// The hand-worked example of metrics.test.ts. Highest score first:
// 0.9 P, 0.8 P, 0.7 N, 0.6 P, 0.5 N, 0.4 P, then only negatives.
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];

test('steps down the scores from recall 0 and precision 1, one point per distinct score', () => {
  const curve = precisionRecallCurve(LABELS, PROBS);
  expect(curve.recall.slice(0, 7)).toEqual([0, 0.25, 0.5, 0.5, 0.75, 0.75, 1]);
  expect(curve.precision.slice(0, 7).map((p) => +p.toFixed(6))).toEqual([1, 1, 1, 0.666667, 0.75, 0.6, 0.666667]);
  expect(curve.thresholds).toEqual([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]);
  expect(curve.baseline).toBe(0.4);
});

test('average precision sums precision over each rise in recall (scikit-learn: 0.854167 here)', () => {
  // 0.25 * 1 + 0.25 * 1 + 0.25 * 3/4 + 0.25 * 4/6
  expect(precisionRecallCurve(LABELS, PROBS).averagePrecision).toBeCloseTo(0.25 + 0.25 + 0.1875 + 1 / 6, 12);
});

test('a perfect ranking has average precision 1; tied scores move together', () => {
  expect(precisionRecallCurve([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]).averagePrecision).toBe(1);
  const tied = precisionRecallCurve([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]);
  expect(tied).toMatchObject({ recall: [0, 1], precision: [1, 0.5], thresholds: [0.5], averagePrecision: 0.5 });
});
