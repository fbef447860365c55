import { checkInputs } from './metrics';

/** One bin of the reliability diagram: predictions in [lower, upper) (the last bin includes 1). */
export interface CalibrationBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted P(positive) of the bin; NaN when the bin is empty. */
  readonly meanPredicted: number;
  /** Share of the bin's images that are positive; NaN when the bin is empty. */
  readonly observed: number;
}

/** Whether a predicted probability can be taken at its word. */
export interface Calibration {
  /** Mean squared difference between P(positive) and the label: 0 is perfect, 0.25 is a constant 0.5. */
  readonly brier: number;
  /** Expected calibration error: Σ (bin count / N) · |observed − mean predicted| over the bins. */
  readonly ece: number;
  readonly bins: readonly CalibrationBin[];
}

/** Brier score, ECE and the reliability diagram's bins (equal-width, 10 by default). */
export function calibration(labels: ArrayLike<number>, probs: ArrayLike<number>, binCount = 10): Calibration {
  checkInputs(labels, probs);
  if (!Number.isInteger(binCount) || binCount < 1) throw new RangeError(`binCount must be a positive integer, got ${binCount}`);
  const count = new Array<number>(binCount).fill(0);
  const predicted = new Array<number>(binCount).fill(0);
  const positives = new Array<number>(binCount).fill(0);
  let squared = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = probs[i];
    const b = binOf(p, binCount);
    count[b]++;
    predicted[b] += p;
    positives[b] += labels[i];
    squared += (p - labels[i]) ** 2;
  }
  const bins = count.map((n, b) => ({
    lower: b / binCount,
    upper: (b + 1) / binCount,
    count: n,
    meanPredicted: n ? predicted[b] / n : NaN,
    observed: n ? positives[b] / n : NaN,
  }));
  const ece = bins.reduce((sum, bin) => (bin.count ? sum + (bin.count / labels.length) * Math.abs(bin.observed - bin.meanPredicted) : sum), 0);
  return { brier: squared / labels.length, ece, bins };
}

/** Images per class in one bin of predicted probability. */
export interface HistogramBin {
  readonly lower: number;
  readonly upper: number;
  /** Counts indexed by label: [negatives, positives]. */
  readonly counts: readonly [number, number];
}

/** How the predicted probabilities of each class spread over [0, 1] (equal-width bins, 20 by default). */
export function probabilityHistogram(labels: ArrayLike<number>, probs: ArrayLike<number>, binCount = 20): HistogramBin[] {
  checkInputs(labels, probs);
  const bins = Array.from({ length: binCount }, (_, b) => ({ lower: b / binCount, upper: (b + 1) / binCount, counts: [0, 0] as [number, number] }));
  for (let i = 0; i < labels.length; i++) bins[binOf(probs[i], binCount)].counts[labels[i]]++;
  return bins;
}

/** The bin a probability falls in; 1 (and anything rounding past it) goes to the last bin. */
function binOf(p: number, binCount: number): number {
  return Math.min(binCount - 1, Math.max(0, Math.floor(p * binCount)));
}
