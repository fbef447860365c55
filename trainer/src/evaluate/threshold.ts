import { CLASS_NAMES } from '../data/types';
import { UserError } from '../user-error';
import { ratio, sweepThresholds } from './metrics';

export const THRESHOLD_METRICS = ['sensitivity', 'specificity'] as const;
export type ThresholdMetric = (typeof THRESHOLD_METRICS)[number];

/** `--threshold-for sensitivity=0.95`: the validation figure the chosen threshold must reach. */
export interface ThresholdTarget {
  readonly metric: ThresholdMetric;
  readonly value: number;
}

/** The threshold a run serves with, and how it was chosen. */
export interface ThresholdChoice {
  /** A probability at or above this is labelled positive. */
  readonly threshold: number;
  /** Absent: the default threshold, chosen by no rule. */
  readonly target?: ThresholdTarget;
  /** What the threshold gives on the validation split (absent when validation was not scored). */
  readonly validation?: { readonly sensitivity: number; readonly specificity: number; readonly count: number };
}

/** The threshold of a run without --threshold-for, and of every model saved before it existed. */
export const DEFAULT_THRESHOLD = 0.5;

const TARGET_FORMAT = /^\s*([a-z]+)\s*=\s*([0-9.eE+-]+)\s*$/;

/** Why `text` is not a threshold target, or undefined when it is one. */
export function thresholdTargetProblem(text: string): string | undefined {
  const match = TARGET_FORMAT.exec(text);
  const example = 'e.g. sensitivity=0.95 or specificity=0.98';
  if (!match) return `'${text}' is not a target: give ${THRESHOLD_METRICS.join('=<value> or ')}=<value>, ${example}`;
  if (!(THRESHOLD_METRICS as readonly string[]).includes(match[1])) {
    return `'${match[1]}' cannot set the threshold: use ${THRESHOLD_METRICS.join(' or ')}, ${example}`;
  }
  const value = Number(match[2]);
  if (!Number.isFinite(value) || value <= 0 || value > 1) {
    return `${match[1]} must be a share above 0 and at most 1 (0.95, not 95%), got '${match[2]}'`;
  }
  return undefined;
}

/** Parses a target that the option schema has already checked. */
export function parseThresholdTarget(text: string): ThresholdTarget {
  const problem = thresholdTargetProblem(text);
  if (problem) throw new UserError(`--threshold-for: ${problem}`);
  const [, metric, value] = TARGET_FORMAT.exec(text) as RegExpExecArray;
  return { metric: metric as ThresholdMetric, value: Number(value) };
}

/**
 * Picks the threshold on the validation split, never on test, so that the test figures stay an
 * honest estimate. Without a target it is the default 0.5. For `sensitivity=s` it is the highest
 * threshold whose validation sensitivity is at least s (the most specific one that meets it); for
 * `specificity=s`, the lowest whose validation specificity is at least s (the most sensitive one).
 * A threshold sits halfway between two neighbouring validation scores rather than on one, so a cell
 * scoring like the last one let in is not decided by a rounding error.
 */
export function chooseThreshold(labels: ArrayLike<number>, probs: ArrayLike<number>, target?: ThresholdTarget): ThresholdChoice {
  const sweep = sweepThresholds(labels, probs);
  const { thresholds, tp, fp, positives, negatives } = sweep;
  const at = (threshold: number, k: number) => ({
    threshold,
    validation: {
      sensitivity: k < 0 ? 0 : ratio(tp[k], positives),
      specificity: k < 0 ? 1 : ratio(negatives - fp[k], negatives),
      count: positives + negatives,
    },
  });
  if (!target) {
    // The step whose threshold is the lowest score still at or above 0.5.
    let k = -1;
    while (k + 1 < thresholds.length && thresholds[k + 1] >= DEFAULT_THRESHOLD) k++;
    return at(DEFAULT_THRESHOLD, k);
  }
  const [positiveClass, negativeClass] = [CLASS_NAMES[1], CLASS_NAMES[0]];
  if (target.metric === 'sensitivity' && positives === 0) {
    throw new UserError(`--threshold-for sensitivity needs ${positiveClass} images in the validation split, and it has none; use more data or drop --threshold-for`);
  }
  if (target.metric === 'specificity' && negatives === 0) {
    throw new UserError(`--threshold-for specificity needs ${negativeClass} images in the validation split, and it has none; use more data or drop --threshold-for`);
  }
  // Step k labels positive every score down to thresholds[k]; k = -1 labels nothing positive.
  let k: number;
  if (target.metric === 'sensitivity') {
    k = tp.findIndex((n) => n / positives >= target.value);
  } else {
    k = -1;
    while (k + 1 < thresholds.length && (negatives - fp[k + 1]) / negatives >= target.value) k++;
  }
  const next = k + 1 < thresholds.length ? thresholds[k + 1] : 0;
  const threshold = k < 0 ? Math.min(1, (thresholds[0] + 1) / 2) : (thresholds[k] + next) / 2;
  return { ...at(threshold, k), target };
}
