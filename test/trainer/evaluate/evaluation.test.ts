import { evaluatePredictions, evaluationRecord } from '../../../trainer/src/evaluate/evaluation';
import { chooseThreshold } from '../../../trainer/src/evaluate/threshold';

const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];
const PATIENTS = ['A', 'A', 'B', 'B', 'A', 'A', 'B', 'B', 'C', 'C'];

test('evaluates at the chosen threshold, with intervals, calibration and per-patient results', () => {
  const threshold = chooseThreshold([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.65], { metric: 'specificity', value: 1 });
  const e = evaluatePredictions({ labels: LABELS, probs: PROBS, patients: PATIENTS }, threshold, { seed: 4 });
  // Threshold 0.725 (between 0.8 and 0.65): 0.9 and 0.8 flagged.
  expect(e.metrics.threshold).toBeCloseTo(0.725, 12);
  expect(e.metrics.confusion).toEqual({ tp: 2, fp: 0, tn: 6, fn: 2 });
  expect(e.intervals.accuracy!.low).toBeLessThan(0.8);
  expect(e.intervals.accuracy!.high).toBeGreaterThan(0.8);
  expect(e.intervals.auc).toMatchObject({ patients: 3 });
  expect(e.patientCount).toBe(3);
  expect(e.patients[0].patient).toBe('B');
  expect(e.calibration.brier).toBeGreaterThan(0);
});

test('the flat record holds the classic test metrics, the new ones and interval bounds, all finite, with MLflow-valid names', () => {
  const e = evaluatePredictions({ labels: LABELS, probs: PROBS, patients: PATIENTS }, chooseThreshold(LABELS, PROBS), { seed: 4 });
  const record = evaluationRecord(e);
  expect(record).toMatchObject({ test_accuracy: 0.7, test_threshold: 0.5, test_patients: 3, val_recall_at_threshold: 0.75 });
  for (const key of ['test_auc_ci_low', 'test_auc_ci_high', 'test_accuracy_ci_low', 'test_recall_ci_high', 'test_specificity_ci_low',
    'test_brier', 'test_ece', 'test_average_precision', 'val_specificity_at_threshold']) {
    expect(record).toHaveProperty(key);
  }
  for (const [key, value] of Object.entries(record)) {
    expect(key).toMatch(/^[a-z0-9_]{1,250}$/);
    expect(Number.isFinite(value)).toBe(true);
  }
});
