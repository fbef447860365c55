import { UserError } from '../user-error';

/** Counts of the binary confusion matrix; positive = Parasitized (label 1). */
export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

/**
 * Test-split metrics of a binary classifier whose output is P(positive).
 *
 * Every value is a finite number, so it survives JSON and MLflow unchanged. Where a formula divides
 * by zero the value follows scikit-learn's `zero_division=0` convention:
 * - precision is 0 when nothing is predicted positive; recall when there are no positives;
 *   specificity when there are no negatives; F1 when precision + recall is 0;
 * - MCC is 0 when any row or column of the confusion matrix is empty (as in scikit-learn);
 * - AUC is 0.5 when the labels hold one class only: there is no positive/negative pair to rank,
 *   so the score carries no ranking information (scikit-learn raises here instead).
 */
export interface TestMetrics {
  readonly accuracy: number;
  readonly precision: number;
  /** Sensitivity: the share of parasitized cells that are found. */
  readonly recall: number;
  readonly specificity: number;
  readonly f1: number;
  /** ROC AUC; tied scores count one half (the Mann-Whitney U statistic). */
  readonly auc: number;
  /** Matthews correlation coefficient, -1 to 1. */
  readonly mcc: number;
  readonly confusion: Confusion;
  /** A probability at or above this is predicted positive. */
  readonly threshold: number;
  /** Number of examples evaluated. */
  readonly count: number;
}

/** ROC points from (0, 0) to (1, 1), one per distinct score; `thresholds[0]` is Infinity (nothing predicted positive). */
export interface RocCurve {
  readonly fpr: number[];
  readonly tpr: number[];
  readonly thresholds: number[];
}

export function computeMetrics(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = 0.5): TestMetrics {
  checkInputs(labels, probs);
  if (!Number.isFinite(threshold)) throw new Error(`threshold must be a finite number, got ${threshold}`);
  const confusion = confusionAt(labels, probs, threshold);
  const { tp, fp, tn, fn } = confusion;
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    accuracy: ratio(tp + tn, labels.length),
    precision,
    recall,
    specificity: ratio(tn, tn + fp),
    f1: ratio(2 * precision * recall, precision + recall),
    auc: aucByRanks(labels, probs, tp + fn, tn + fp),
    mcc: ratio(tp * tn - fp * fn, Math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))),
    confusion,
    threshold,
    count: labels.length,
  };
}

/**
 * Counts of predicted positives as the threshold is lowered past each group of tied scores, highest
 * first: with threshold `thresholds[k]`, `tp[k]` positives and `fp[k]` negatives score at or above it.
 * ROC, precision-recall and the threshold choice are all read off this one pass.
 */
export interface ThresholdSweep {
  readonly thresholds: number[];
  readonly tp: number[];
  readonly fp: number[];
  readonly positives: number;
  readonly negatives: number;
}

export function sweepThresholds(labels: ArrayLike<number>, probs: ArrayLike<number>): ThresholdSweep {
  checkInputs(labels, probs);
  const order = sortedIndices(probs, 'descending');
  const positives = countPositives(labels);
  const sweep: ThresholdSweep = { thresholds: [], tp: [], fp: [], positives, negatives: labels.length - positives };
  let tp = 0;
  let fp = 0;
  // Lowering the threshold past a group of tied scores flips the whole group at once: one step per group.
  forEachTieGroup(order, probs, (start, end) => {
    for (let k = start; k < end; k++) {
      if (labels[order[k]] === 1) tp++;
      else fp++;
    }
    sweep.thresholds.push(probs[order[start]]);
    sweep.tp.push(tp);
    sweep.fp.push(fp);
  });
  return sweep;
}

export function rocCurve(labels: ArrayLike<number>, probs: ArrayLike<number>): RocCurve {
  const { thresholds, tp, fp, positives, negatives } = sweepThresholds(labels, probs);
  return {
    fpr: [0, ...fp.map((n) => ratio(n, negatives))],
    tpr: [0, ...tp.map((n) => ratio(n, positives))],
    thresholds: [Infinity, ...thresholds],
  };
}

/** Flat keys for metrics.json and MLflow: `test_accuracy`, ..., `test_tp`, ..., `test_threshold`, `test_count`. */
export function toMetricRecord(m: TestMetrics, prefix = 'test_'): Record<string, number> {
  const flat: Record<string, number> = {
    accuracy: m.accuracy,
    precision: m.precision,
    recall: m.recall,
    specificity: m.specificity,
    f1: m.f1,
    auc: m.auc,
    mcc: m.mcc,
    ...m.confusion,
    threshold: m.threshold,
    count: m.count,
  };
  return Object.fromEntries(Object.entries(flat).map(([key, value]) => [prefix + key, value]));
}

/** The confusion counts when a probability at or above `threshold` is predicted positive. */
export function confusionAt(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold: number): Confusion {
  let tp = 0, fp = 0, tn = 0, fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = probs[i] >= threshold;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/** ROC AUC alone, with the conventions of `TestMetrics.auc`. */
export function rocAuc(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  checkInputs(labels, probs);
  const positives = countPositives(labels);
  return aucByRanks(labels, probs, positives, labels.length - positives);
}

/** AUC as the probability that a random positive outscores a random negative, ties counting 1/2, via average ranks. */
function aucByRanks(labels: ArrayLike<number>, probs: ArrayLike<number>, positives: number, negatives: number): number {
  if (positives === 0 || negatives === 0) return 0.5;
  const order = sortedIndices(probs, 'ascending');
  let positiveRankSum = 0;
  forEachTieGroup(order, probs, (start, end) => {
    const averageRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (labels[order[k]] === 1) positiveRankSum += averageRank;
  });
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

function sortedIndices(values: ArrayLike<number>, direction: 'ascending' | 'descending'): Uint32Array {
  const order = new Uint32Array(values.length);
  for (let i = 0; i < order.length; i++) order[i] = i;
  const sign = direction === 'ascending' ? 1 : -1;
  return order.sort((a, b) => sign * (values[a] - values[b]));
}

/** Calls `visit(start, end)` for each run of equal values in `values[order[...]]`, end exclusive. */
function forEachTieGroup(order: Uint32Array, values: ArrayLike<number>, visit: (start: number, end: number) => void): void {
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    visit(start, end);
    start = end;
  }
}

function countPositives(labels: ArrayLike<number>): number {
  let positives = 0;
  for (let i = 0; i < labels.length; i++) positives += labels[i];
  return positives;
}

/** numerator / denominator, or 0 when the denominator is 0 (the `zero_division=0` convention above). */
export function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

/** Throws unless labels are 0/1 and probabilities finite, one each, and there is at least one. */
export function checkInputs(labels: ArrayLike<number>, probs: ArrayLike<number>): void {
  if (labels.length !== probs.length) {
    throw new Error(`labels and probabilities differ in length: ${labels.length} labels, ${probs.length} probabilities`);
  }
  if (labels.length === 0) {
    throw new UserError('no test images to evaluate: the test split is empty; use more images or a larger test fraction');
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new Error(`label ${i} is ${labels[i]}; labels must be 0 or 1`);
  }
  let nonFinite = 0;
  for (let i = 0; i < probs.length; i++) if (!Number.isFinite(probs[i])) nonFinite++;
  if (nonFinite > 0) {
    throw new UserError(
      `the model produced ${nonFinite} of ${probs.length} predictions that are not numbers (NaN or infinite): ` +
        'training diverged; lower --learning-rate and train again',
    );
  }
}
