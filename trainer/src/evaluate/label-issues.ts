import { checkInputs } from './metrics';

/** 2x2 counts indexed `[given label][true label]`, label 1 = Parasitized. */
export type Joint = readonly [readonly [number, number], readonly [number, number]];

/**
 * What confident learning makes of a set's out-of-sample predictions: how many labels look wrong,
 * and which.
 */
export interface LabelIssues {
  /** Cells judged. */
  readonly count: number;
  /**
   * Per class, in label order: the mean P(class) over the cells given that label (the class's
   * average self-confidence). A cell is confidently of class k when P(k) reaches it.
   */
  readonly thresholds: readonly [number, number];
  /** Confidently counted cells by given and true (guessed) label; a cell confident of no class is not counted. */
  readonly confidentJoint: Joint;
  /** The confident joint scaled so that each row holds all the cells given that label, then rounded. */
  readonly calibratedJoint: Joint;
  /** Estimated number of wrong labels in the set: the calibrated joint's off-diagonal. */
  readonly estimated: number;
  /** The cells flagged, least self-confident first (lowest P(given label)). */
  readonly flagged: readonly number[];
  /** P(given label) of every cell: low means the models contradict the label. */
  readonly selfConfidence: Float64Array;
}

/** cleanlab's fuzz for comparisons of probabilities (cleanlab/internal/constants.py). */
const FLOATING_POINT_COMPARISON = 1e-6;
const CONFIDENT_THRESHOLDS_LOWER_BOUND = 2 * FLOATING_POINT_COMPARISON;
/** A class without cells gets a threshold no probability reaches. */
const ABSENT_CLASS_THRESHOLD = 2;

/**
 * Suspected label errors by confident learning (Northcutt, Jiang & Chuang 2021, "Confident
 * Learning: Estimating Uncertainty in Dataset Labels", JAIR 70), for our two classes, computed as
 * cleanlab 2.x does by default (count.compute_confident_joint; count.num_label_issues with
 * `off_diagonal_calibrated`, which cleanlab advises for fewer than 4 classes; filter.find_label_issues
 * with `prune_by_noise_rate`, ranked by `self_confidence`):
 *
 * 1. per-class thresholds: the mean P(k) over the cells labelled k;
 * 2. the confident joint: each cell whose P(k) reaches class k's threshold is counted under
 *    (given label, k), the likelier class when both reach theirs; the diagonal is at least 1;
 * 3. calibration: each row scaled to the number of cells with that label, rounded keeping the
 *    row's total; its off-diagonal is the estimated number of wrong labels;
 * 4. pruning by noise rate: of the cells given label i, the (i, j) count of the calibrated joint
 *    with the largest margin P(j) - P(i) are flagged (for two classes: the lowest P(i)), less those
 *    the model agrees with (P(i) >= 0.5);
 * 5. the flagged cells ranked by self-confidence, P(given label), lowest first.
 *
 * `probs` must be out-of-sample (each from a model that never trained on that cell: a
 * cross-validation's test predictions), or the models will have learnt the wrong labels.
 */
export function findLabelIssues(labels: ArrayLike<number>, probs: ArrayLike<number>): LabelIssues {
  checkInputs(labels, probs);
  const count = labels.length;
  const p = (i: number, k: number) => (k === 1 ? probs[i] : 1 - probs[i]);
  const selfConfidence = Float64Array.from({ length: count }, (_, i) => p(i, labels[i]));
  const perClass = [0, 0];
  const confidenceSum = [0, 0];
  for (let i = 0; i < count; i++) {
    perClass[labels[i]]++;
    confidenceSum[labels[i]] += selfConfidence[i];
  }
  const thresholds = [0, 1].map((k) => (perClass[k]
    ? Math.max(confidenceSum[k] / perClass[k], CONFIDENT_THRESHOLDS_LOWER_BOUND)
    : ABSENT_CLASS_THRESHOLD)) as [number, number];

  const joint = [[0, 0], [0, 0]];
  for (let i = 0; i < count; i++) {
    const confident = [0, 1].filter((k) => p(i, k) >= thresholds[k] - FLOATING_POINT_COMPARISON);
    if (confident.length === 0) continue;
    // numpy's argmax: the first of equal probabilities.
    const guess = confident.length === 1 ? confident[0] : p(i, 1) > p(i, 0) ? 1 : 0;
    joint[labels[i]][guess]++;
  }
  for (const k of [0, 1]) joint[k][k] = Math.max(joint[k][k], 1);
  const calibrated = calibrate(joint, perClass);
  return {
    count,
    thresholds,
    confidentJoint: asJoint(joint),
    calibratedJoint: asJoint(calibrated),
    estimated: calibrated[0][1] + calibrated[1][0],
    flagged: pruneByNoiseRate(labels, probs, selfConfidence, calibrated, perClass),
    selfConfidence,
  };
}

/** Every cell, least self-confident first (ties in index order): the ranking top-k figures are read from. */
export function rankBySelfConfidence(issues: Pick<LabelIssues, 'selfConfidence'>): number[] {
  const { selfConfidence } = issues;
  return Array.from(selfConfidence.keys()).sort((a, b) => selfConfidence[a] - selfConfidence[b] || a - b);
}

/** cleanlab's calibrate_confident_joint: rows scaled to the label counts, the whole to their sum, each row rounded keeping its total. */
function calibrate(joint: readonly (readonly number[])[], perClass: readonly number[]): number[][] {
  const rows = joint.map((row, k) => {
    const total = row[0] + row[1];
    return row.map((v) => (total > 0 ? (v / total) * perClass[k] : 0));
  });
  const sum = rows.flat().reduce((a, b) => a + b, 0);
  const n = perClass[0] + perClass[1];
  return rows.map((row) => roundPreservingSum(row.map((v) => (sum > 0 ? (v / sum) * n : 0))));
}

/**
 * filter.find_label_issues(filter_by='prune_by_noise_rate', min_examples_per_class=1) for two
 * classes: of the cells given label i, the calibrated joint's (i, j) count with the largest
 * P(j) - P(i), i.e. the lowest P(i); then the cells the model agrees with are dropped.
 */
function pruneByNoiseRate(
  labels: ArrayLike<number>, probs: ArrayLike<number>, selfConfidence: Float64Array, calibrated: number[][], perClass: readonly number[],
): number[] {
  const flagged: number[] = [];
  for (const given of [0, 1]) {
    // _keep_at_least_n_per_class: every class keeps at least one cell it is confident of.
    const kept = Math.max(calibrated[given][given], 1);
    const toPrune = Math.max(0, calibrated[given][1 - given] - (kept - calibrated[given][given]));
    if (perClass[given] <= 1 || toPrune === 0) continue;
    const ofClass = Array.from({ length: labels.length }, (_, i) => i).filter((i) => labels[i] === given);
    ofClass.sort((a, b) => selfConfidence[a] - selfConfidence[b] || a - b);
    flagged.push(...ofClass.slice(0, toPrune));
  }
  // cleanlab's _reduce_issues: a cell whose given label is (within 1e-6) the model's likelier class is no issue.
  const agrees = (i: number) => (labels[i] === 0
    ? 1 - probs[i] + FLOATING_POINT_COMPARISON >= probs[i]
    : probs[i] + FLOATING_POINT_COMPARISON > 1 - probs[i]);
  return flagged.filter((i) => !agrees(i)).sort((a, b) => selfConfidence[a] - selfConfidence[b] || a - b);
}

/**
 * cleanlab's round_preserving_sum: numpy rounding (half to even), then the values rounded the
 * wrong way the most are moved by one until the integers add up to the rounded total.
 */
export function roundPreservingSum(values: readonly number[]): number[] {
  const ints = values.map(roundHalfEven);
  const target = roundHalfEven(values.reduce((a, b) => a + b, 0));
  let sum = ints.reduce((a, b) => a + b, 0);
  while (Math.abs(sum - target) > FLOATING_POINT_COMPARISON) {
    const step = target > sum ? 1 : -1;
    const changes = Math.min(Math.abs(target - sum), values.length);
    // numpy: a stable ascending argsort of the rounding errors, reversed when adding.
    const ascending = values.map((_, i) => i).sort((a, b) => (values[a] - ints[a]) - (values[b] - ints[b]));
    const order = step > 0 ? ascending.reverse() : ascending;
    for (const i of order.slice(0, changes)) ints[i] += step;
    sum = ints.reduce((a, b) => a + b, 0);
  }
  return ints;
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (Math.abs(fraction - 0.5) > 1e-12) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

function asJoint(m: readonly (readonly number[])[]): Joint {
  return [[m[0][0], m[0][1]], [m[1][0], m[1][1]]];
}

/** How a ranking of suspected errors does against the errors known to be there (a synthetic set's planted ones). */
export interface KnownErrorCheck {
  /** Known wrong labels among the cells judged. */
  readonly known: number;
  /** The flagged cells, then the top k of the ranking for each k asked. */
  readonly rows: readonly { readonly what: 'flagged' | 'top'; readonly k: number; readonly found: number; readonly precision: number; readonly recall: number }[];
}

/** Precision and recall of the flagged cells and of the ranking's top `ks` against the indices known to be wrong. */
export function checkAgainstKnownErrors(
  flagged: readonly number[], ranking: readonly number[], known: ReadonlySet<number>, ks: readonly number[],
): KnownErrorCheck {
  const score = (what: 'flagged' | 'top', picked: readonly number[]) => {
    const found = picked.filter((i) => known.has(i)).length;
    return { what, k: picked.length, found, precision: picked.length ? found / picked.length : 0, recall: known.size ? found / known.size : 0 };
  };
  const sizes = [...new Set(ks.map((k) => Math.min(k, ranking.length)).filter((k) => k > 0))].sort((a, b) => a - b);
  return { known: known.size, rows: [score('flagged', flagged), ...sizes.map((k) => score('top', ranking.slice(0, k)))] };
}
