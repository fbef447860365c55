import { ratio, sweepThresholds } from './metrics';

/**
 * Precision against recall, one point per distinct score from the highest down, starting at
 * recall 0 and precision 1 (scikit-learn's convention). `thresholds[k]` gives point k + 1.
 */
export interface PrecisionRecallCurve {
  readonly recall: number[];
  readonly precision: number[];
  readonly thresholds: number[];
  /** Share of positives: the precision of a classifier that guesses. */
  readonly baseline: number;
  /** Average precision: Σ (R_k − R_{k−1}) P_k over the curve's steps, as scikit-learn computes it. */
  readonly averagePrecision: number;
}

export function precisionRecallCurve(labels: ArrayLike<number>, probs: ArrayLike<number>): PrecisionRecallCurve {
  const { thresholds, tp, fp, positives, negatives } = sweepThresholds(labels, probs);
  const recall = [0, ...tp.map((n) => ratio(n, positives))];
  const precision = [1, ...tp.map((n, k) => ratio(n, n + fp[k]))];
  let averagePrecision = 0;
  for (let k = 1; k < recall.length; k++) averagePrecision += (recall[k] - recall[k - 1]) * precision[k];
  return { recall, precision, thresholds, baseline: ratio(positives, positives + negatives), averagePrecision };
}
