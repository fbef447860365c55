import { CLASS_NAMES } from '../data/types';
import { UserError } from '../user-error';
import { formatMetric } from './html';
import { confusionAt, ratio, sweepThresholds } from './metrics';

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
  readonly validation?: {
    readonly sensitivity: number; readonly specificity: number; readonly precision: number; readonly accuracy: number; readonly count: number;
  };
  /** Set when the target cannot be reached, or only by labelling every validation cell one class: said in the log and the report. */
  readonly warning?: string;
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
 *
 * Thresholds stay within 0 to 1 (what a saved model may hold), and a cell scoring at or above the
 * threshold is positive, so uninfected cells that score exactly 1 (a saturated sigmoid, or the TTA
 * mean of eight 1s) are positive at every threshold: a specificity target they block cannot be
 * reached, and the choice says so. Its validation figures are always counted at the threshold chosen.
 */
export function chooseThreshold(labels: ArrayLike<number>, probs: ArrayLike<number>, target?: ThresholdTarget): ThresholdChoice {
  const { thresholds, tp, fp, positives, negatives } = sweepThresholds(labels, probs);
  const validationAt = (threshold: number) => {
    const { tp: found, fp: falseAlarms, tn: cleared } = confusionAt(labels, probs, threshold);
    return {
      sensitivity: ratio(found, positives),
      specificity: ratio(cleared, negatives),
      precision: ratio(found, found + falseAlarms),
      accuracy: ratio(found + cleared, positives + negatives),
      count: positives + negatives,
    };
  };
  if (!target) return { threshold: DEFAULT_THRESHOLD, validation: validationAt(DEFAULT_THRESHOLD) };
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
  const threshold = k < 0 ? above(thresholds[0]) : between(thresholds[k], k + 1 < thresholds.length ? thresholds[k + 1] : 0);
  const validation = validationAt(threshold);
  const warning = thresholdWarning(target, threshold, validation, k < 0 ? fp[0] : 0, negatives);
  return { threshold, target, validation, ...(warning ? { warning } : {}) };
}

/** A threshold that labels `high` positive and `low` (lower, or 0 for "everything") negative. */
function between(high: number, low: number): number {
  const middle = (high + low) / 2;
  // Two neighbouring doubles have no number between them: the threshold is then the higher one.
  return middle > low ? middle : high;
}

/** The lowest threshold, within 1, above `top`; 1 itself when `top` is 1 (nothing lies above it). */
function above(top: number): number {
  return top >= 1 ? 1 : between(1, top);
}

function thresholdWarning(
  target: ThresholdTarget, threshold: number, validation: NonNullable<ThresholdChoice['validation']>, blocking: number, negatives: number,
): string | undefined {
  const { sensitivity, specificity } = validation;
  const [negativeClass, positiveClass] = CLASS_NAMES;
  const reached = (target.metric === 'sensitivity' ? sensitivity : specificity) >= target.value;
  if (!reached) {
    return `${target.metric} >= ${target.value} cannot be reached on validation: ${blocking} of ${negatives} ${negativeClass} cells `
      + `score${blocking === 1 ? 's' : ''} 1, the highest score there is, so no threshold clears ${blocking === 1 ? 'it' : 'them'}; `
      + `threshold ${threshold} gives ${target.metric} ${formatMetric(specificity)}. `
      + 'Lower the target, or train with --label-smoothing 0.1, which keeps scores off 1';
  }
  if (sensitivity === 0 || specificity === 0) {
    const [everyCell, other, value] = sensitivity === 0 ? [negativeClass, 'sensitivity', sensitivity] : [positiveClass, 'specificity', specificity];
    return `${target.metric} >= ${target.value} is reached on validation only by labelling every cell ${everyCell} (${other} ${value}); lower the target`;
  }
  return undefined;
}
