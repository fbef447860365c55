import { calibration, type Calibration } from './calibration';
import { bootstrapAucByPatient, wilsonInterval, type BootstrapInterval, type Interval } from './intervals';
import { computeMetrics, toMetricRecord, type TestMetrics } from './metrics';
import { perPatient, type PatientResult } from './patients';
import { precisionRecallCurve } from './precision-recall';
import type { ThresholdChoice } from './threshold';

/** Predictions on one split: the label, P(positive) and patient of every image, in one order. */
export interface Predictions {
  readonly labels: ArrayLike<number>;
  readonly probs: ArrayLike<number>;
  readonly patients: readonly string[];
}

/**
 * Everything the report says about a model's test predictions, as plain values: a cross-validation
 * fold or a comparison can compute, pool and print them the same way.
 */
export interface Evaluation {
  /** At `threshold.threshold`. */
  readonly metrics: TestMetrics;
  readonly threshold: ThresholdChoice;
  /** 95% intervals: Wilson for the proportions (cells taken as independent), AUC by a patient bootstrap. */
  readonly intervals: {
    readonly accuracy?: Interval;
    readonly recall?: Interval;
    readonly specificity?: Interval;
    readonly auc?: BootstrapInterval;
  };
  /** Distinct patients among the evaluated images: what the figures rest on. */
  readonly patientCount: number;
  readonly averagePrecision: number;
  readonly calibration: Calibration;
  /** Worst first. */
  readonly patients: readonly PatientResult[];
  /** Seed of the bootstrap. */
  readonly seed: number;
}

export function evaluatePredictions(predictions: Predictions, threshold: ThresholdChoice, opts: { seed: number }): Evaluation {
  const { labels, probs, patients } = predictions;
  const metrics = computeMetrics(labels, probs, threshold.threshold);
  const { tp, fp, tn, fn } = metrics.confusion;
  const byPatient = perPatient(labels, probs, patients, threshold.threshold);
  return {
    metrics,
    threshold,
    intervals: {
      accuracy: wilsonInterval(tp + tn, metrics.count),
      recall: wilsonInterval(tp, tp + fn),
      specificity: wilsonInterval(tn, tn + fp),
      auc: bootstrapAucByPatient(labels, probs, patients, { seed: opts.seed }),
    },
    patientCount: byPatient.length,
    averagePrecision: precisionRecallCurve(labels, probs).averagePrecision,
    calibration: calibration(labels, probs),
    patients: byPatient,
    seed: opts.seed,
  };
}

/**
 * Flat keys for metrics.json and MLflow (letters, digits and underscores only, as MLflow allows):
 * the classic `test_*` metrics, then their interval bounds (`test_auc_ci_low`...), calibration,
 * the number of test patients, and what the threshold gives on validation.
 */
export function evaluationRecord(e: Evaluation): Record<string, number> {
  const record: Record<string, number> = {
    ...toMetricRecord(e.metrics),
    test_average_precision: e.averagePrecision,
    test_brier: e.calibration.brier,
    test_ece: e.calibration.ece,
    test_patients: e.patientCount,
  };
  for (const [name, interval] of Object.entries(e.intervals)) {
    if (!interval) continue;
    record[`test_${name}_ci_low`] = interval.low;
    record[`test_${name}_ci_high`] = interval.high;
  }
  if (e.threshold.validation) {
    record.val_recall_at_threshold = e.threshold.validation.sensitivity;
    record.val_specificity_at_threshold = e.threshold.validation.specificity;
    record.val_precision_at_threshold = e.threshold.validation.precision;
    record.val_accuracy_at_threshold = e.threshold.validation.accuracy;
  }
  return record;
}
