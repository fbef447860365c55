import { mulberry32 } from '../data/random';
import { checkInputs } from './metrics';

/** A two-sided confidence interval. */
export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** z for a two-sided 95% interval. */
const Z95 = 1.959963984540054;

/**
 * Wilson score interval for a proportion of `successes` in `trials` (95% by default): unlike the
 * normal approximation it stays inside [0, 1] and is sound near 0 and 1, where good classifiers
 * live. Undefined for zero trials (nothing to estimate).
 */
export function wilsonInterval(successes: number, trials: number, z = Z95): Interval | undefined {
  if (!Number.isInteger(successes) || !Number.isInteger(trials) || successes < 0 || successes > trials) {
    throw new RangeError(`a proportion needs whole counts with 0 <= successes <= trials, got ${successes} of ${trials}`);
  }
  if (trials === 0) return undefined;
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // Clamped: at p = 0 or 1 rounding can put a bound a hair outside [0, 1].
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface BootstrapOptions {
  /** @default 2000 */
  readonly resamples?: number;
  readonly seed: number;
  /** @default 0.95 */
  readonly level?: number;
}

export interface BootstrapInterval extends Interval {
  /** Resamples that held both classes (AUC needs both); the interval rests on these. */
  readonly resamples: number;
  /** Resamples drawn. */
  readonly drawn: number;
  /** Distinct patients (clusters) resampled. */
  readonly patients: number;
}

/**
 * Percentile bootstrap interval for ROC AUC, resampling patients rather than cells: cells of one
 * patient share a slide, a stain and a parasite load, so they are not independent, and resampling
 * cells would give an interval far narrower than the data supports. Each resample draws as many
 * patients as there are, with replacement, and takes all their cells. Resamples with one class only
 * have no AUC and are skipped; undefined when none has both.
 */
export function bootstrapAucByPatient(
  labels: ArrayLike<number>, probs: ArrayLike<number>, patients: readonly string[], opts: BootstrapOptions,
): BootstrapInterval | undefined {
  checkInputs(labels, probs);
  if (patients.length !== labels.length) throw new RangeError(`${labels.length} labels but ${patients.length} patient ids`);
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const ids = [...new Set(patients)].sort();
  const clusterOf = new Map(ids.map((id, c) => [id, c]));
  // Sorted once by score: a resample is then only a weight per patient, and its AUC one linear pass.
  const order = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => probs[a] - probs[b]);
  const cluster = Int32Array.from(order, (i) => clusterOf.get(patients[i]) as number);
  const positive = Uint8Array.from(order, (i) => labels[i]);
  const score = Float64Array.from(order, (i) => probs[i]);
  const random = mulberry32(opts.seed);
  const weights = new Float64Array(ids.length);
  const aucs: number[] = [];
  for (let r = 0; r < resamples; r++) {
    weights.fill(0);
    for (let k = 0; k < ids.length; k++) weights[Math.floor(random() * ids.length)]++;
    const auc = weightedAuc(score, positive, cluster, weights);
    if (auc !== undefined) aucs.push(auc);
  }
  if (aucs.length === 0) return undefined;
  aucs.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { low: quantile(aucs, tail), high: quantile(aucs, 1 - tail), resamples: aucs.length, drawn: resamples, patients: ids.length };
}

/** AUC with a weight per cell (its patient's draw count), ties counting one half; scores ascending. */
function weightedAuc(score: Float64Array, positive: Uint8Array, cluster: Int32Array, weights: Float64Array): number | undefined {
  let negativesBelow = 0;
  let pairs = 0;
  let totalPositive = 0;
  for (let start = 0; start < score.length; ) {
    let groupPositive = 0;
    let groupNegative = 0;
    let end = start;
    for (; end < score.length && score[end] === score[start]; end++) {
      const w = weights[cluster[end]];
      if (positive[end]) groupPositive += w;
      else groupNegative += w;
    }
    pairs += groupPositive * (negativesBelow + groupNegative / 2);
    negativesBelow += groupNegative;
    totalPositive += groupPositive;
    start = end;
  }
  return totalPositive === 0 || negativesBelow === 0 ? undefined : pairs / (totalPositive * negativesBelow);
}

/** Linear interpolation between order statistics (numpy's default). */
function quantile(sorted: readonly number[], q: number): number {
  const position = q * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - below);
}
