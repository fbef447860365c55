import { UserError } from '../../../trainer/src/user-error';
import { computeMetrics, rocAuc, rocCurve, toMetricRecord } from '../../../trainer/src/evaluate/metrics';

// Worked by hand. Predictions at 0.5 (a score equal to the threshold counts as positive):
// positives 0.9 0.8 0.6 -> TP, 0.4 -> FN; negatives 0.7 0.5 -> FP, 0.3 0.2 0.1 0.05 -> TN.
// AUC: of the 4 x 6 = 24 positive/negative pairs, 0.9 and 0.8 beat all 6, 0.6 beats 5, 0.4 beats 4: 21/24.
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];

describe('computeMetrics', () => {
  test('matches the hand-worked example', () => {
    const m = computeMetrics(LABELS, PROBS);
    expect(m.confusion).toEqual({ tp: 3, fp: 2, tn: 4, fn: 1 });
    expect(m.accuracy).toBeCloseTo(7 / 10, 12);
    expect(m.precision).toBeCloseTo(3 / 5, 12);
    expect(m.recall).toBeCloseTo(3 / 4, 12);
    expect(m.specificity).toBeCloseTo(4 / 6, 12);
    expect(m.f1).toBeCloseTo((2 * 0.6 * 0.75) / (0.6 + 0.75), 12);
    expect(m.mcc).toBeCloseTo((3 * 4 - 2 * 1) / Math.sqrt(5 * 4 * 6 * 5), 12);
    expect(m.auc).toBeCloseTo(21 / 24, 12);
    expect(m).toMatchObject({ threshold: 0.5, count: 10 });
  });

  test('a higher threshold moves the borderline negative to TN and the 0.6 positive to FN', () => {
    const m = computeMetrics(LABELS, PROBS, 0.65);
    expect(m.confusion).toEqual({ tp: 2, fp: 1, tn: 5, fn: 2 });
    expect(m.auc).toBeCloseTo(21 / 24, 12);
  });

  test('accepts typed arrays as the training code produces them', () => {
    const m = computeMetrics(Uint8Array.from(LABELS), Float32Array.from(PROBS));
    expect(m.confusion).toEqual({ tp: 3, fp: 2, tn: 4, fn: 1 });
  });

  test.each([
    // A tied positive/negative pair counts one half: (1 + 0.5 + 1 + 1) / 4.
    ['one tie across classes', [1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2], 3.5 / 4],
    ['every score equal', [1, 0, 1, 0, 0], [0.3, 0.3, 0.3, 0.3, 0.3], 0.5],
    // Pairs: 0.7 beats 0.2 and 0.2, ties 0.7 (1/2); 0.2 ties 0.2 twice (1/2 + 1/2), loses to 0.7: (2.5 + 1) / 6.
    ['ties inside and across classes', [1, 1, 0, 0, 0], [0.7, 0.2, 0.7, 0.2, 0.2], 3.5 / 6],
    ['perfect ranking', [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], 1],
    ['inverted ranking', [1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4], 0],
  ])('AUC with %s', (_name, labels, probs, expected) => {
    expect(computeMetrics(labels, probs).auc).toBeCloseTo(expected, 12);
    expect(rocAuc(labels, probs)).toBeCloseTo(expected, 12);
  });

  test('MCC is 1 for a perfect classifier and -1 for one that is always wrong', () => {
    expect(computeMetrics([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]).mcc).toBeCloseTo(1, 12);
    expect(computeMetrics([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2]).mcc).toBeCloseTo(-1, 12);
  });

  test('only positives: specificity, MCC and AUC fall back to 0, 0 and 0.5', () => {
    const m = computeMetrics([1, 1, 1, 1], [0.9, 0.8, 0.3, 0.6]);
    expect(m.confusion).toEqual({ tp: 3, fp: 0, tn: 0, fn: 1 });
    expect(m).toMatchObject({ accuracy: 0.75, precision: 1, recall: 0.75, specificity: 0, mcc: 0, auc: 0.5 });
    expect(m.f1).toBeCloseTo((2 * 0.75) / 1.75, 12);
  });

  test('only negatives, none flagged: precision, recall and F1 fall back to 0, specificity is 1', () => {
    const m = computeMetrics([0, 0, 0], [0.1, 0.2, 0.3]);
    expect(m).toMatchObject({ accuracy: 1, precision: 0, recall: 0, f1: 0, specificity: 1, mcc: 0, auc: 0.5 });
  });

  test('a classifier that never flags anything gets precision 0 and MCC 0, not NaN', () => {
    const m = computeMetrics([0, 1, 0, 1], [0.1, 0.2, 0.3, 0.4], 0.9);
    expect(m).toMatchObject({ precision: 0, recall: 0, f1: 0, specificity: 1, mcc: 0, accuracy: 0.5, auc: 0.75 });
    expect(Object.values(toMetricRecord(m)).every(Number.isFinite)).toBe(true);
  });

  test('an empty test split is a user error', () => {
    expect(() => computeMetrics([], [])).toThrow(UserError);
    expect(() => computeMetrics([], [])).toThrow('test split is empty');
  });

  test('NaN predictions (a diverged model) are a user error that suggests the fix', () => {
    expect(() => computeMetrics([0, 1, 1], [0.2, NaN, NaN])).toThrow(UserError);
    expect(() => computeMetrics([0, 1, 1], [0.2, NaN, NaN])).toThrow(/2 of 3 .*learning-rate/);
  });

  test('rejects mismatched lengths and labels other than 0 and 1', () => {
    expect(() => computeMetrics([0, 1], [0.5])).toThrow('2 labels, 1 probabilities');
    expect(() => computeMetrics([0, 2], [0.5, 0.5])).toThrow('label 1 is 2');
  });
});

describe('rocCurve', () => {
  test('has one point per distinct score, from (0, 0) to (1, 1), on the hand-worked tie example', () => {
    expect(rocCurve([1, 0, 1, 0], [0.5, 0.5, 0.8, 0.2])).toEqual({
      fpr: [0, 0, 0.5, 1],
      tpr: [0, 0.5, 1, 1],
      thresholds: [Infinity, 0.8, 0.5, 0.2],
    });
  });

  test('on random scores is monotone, spans (0, 0) to (1, 1), and its area equals the AUC', () => {
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const labels = Array.from({ length: 400 }, () => (random() < 0.4 ? 1 : 0));
    // Rounded scores force many ties.
    const probs = labels.map((y) => Math.round((0.3 * y + 0.7 * random()) * 50) / 50);
    const { fpr, tpr, thresholds } = rocCurve(labels, probs);

    expect([fpr[0], tpr[0], fpr.at(-1), tpr.at(-1)]).toEqual([0, 0, 1, 1]);
    expect(thresholds.length).toBe(new Set(probs).size + 1);
    for (let i = 1; i < fpr.length; i++) {
      expect(fpr[i]).toBeGreaterThanOrEqual(fpr[i - 1]);
      expect(tpr[i]).toBeGreaterThanOrEqual(tpr[i - 1]);
      expect(thresholds[i]).toBeLessThan(thresholds[i - 1]);
    }
    let area = 0;
    for (let i = 1; i < fpr.length; i++) area += ((fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1])) / 2;
    expect(computeMetrics(labels, probs).auc).toBeCloseTo(area, 10);
  });
});

describe('toMetricRecord', () => {
  test('flattens every metric and count under the prefix', () => {
    const record = toMetricRecord(computeMetrics(LABELS, PROBS));
    expect(Object.keys(record).sort()).toEqual([
      'test_accuracy', 'test_auc', 'test_count', 'test_f1', 'test_fn', 'test_fp', 'test_mcc',
      'test_precision', 'test_recall', 'test_specificity', 'test_threshold', 'test_tn', 'test_tp',
    ]);
    expect(record).toMatchObject({ test_accuracy: 0.7, test_tp: 3, test_fn: 1, test_threshold: 0.5, test_count: 10 });
  });

  test('takes another prefix, e.g. for validation metrics', () => {
    expect(toMetricRecord(computeMetrics(LABELS, PROBS), 'val_')).toHaveProperty('val_auc', 21 / 24);
  });
});
