import { mulberry32 } from '../../../trainer/src/data/random';
import {
  checkAgainstKnownErrors, findLabelIssues, rankBySelfConfidence, roundPreservingSum,
} from '../../../trainer/src/evaluate/label-issues';

describe('confident learning on out-of-fold probabilities', () => {
  // Worked by hand from cleanlab's definitions (count.py, filter.py):
  // thresholds: mean P(Uninfected) of the Uninfected-labelled = (.9+.8+.9+.1+.7)/5 = .68,
  //             mean P(Parasitized) of the Parasitized-labelled = (.8+.9+.7+.1+.6)/5 = .62;
  // cell 3 (labelled Uninfected, P(Parasitized) .9) and cell 8 (labelled Parasitized, .1) are confidently
  // the other class; cell 9 (.6) reaches neither threshold and is not counted.
  const labels = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
  const probs = [0.1, 0.2, 0.1, 0.9, 0.3, 0.8, 0.9, 0.7, 0.1, 0.6];

  test('per-class thresholds are each class\'s mean self-confidence', () => {
    const { thresholds } = findLabelIssues(labels, probs);
    expect(thresholds[0]).toBeCloseTo(0.68, 12);
    expect(thresholds[1]).toBeCloseTo(0.62, 12);
  });

  test('the confident joint counts confident cells by given and guessed label; calibration scales rows to the label counts', () => {
    const issues = findLabelIssues(labels, probs);
    expect(issues.confidentJoint).toEqual([[4, 1], [1, 3]]);
    // Row 2 scaled to 5 cells: 1.25 and 3.75, rounded keeping the total.
    expect(issues.calibratedJoint).toEqual([[4, 1], [1, 4]]);
    expect(issues.estimated).toBe(2);
  });

  test('the flagged cells are the least self-confident of each label, as many as the calibrated off-diagonal, most suspicious first', () => {
    const issues = findLabelIssues(labels, probs);
    expect(issues.flagged).toEqual([3, 8]);
    expect(issues.selfConfidence[3]).toBeCloseTo(0.1, 12);
  });

  test('a cell the models agree with is never flagged, however few cells agree', () => {
    // Every Parasitized-labelled cell scores above 0.5: the calibrated joint still has an off-diagonal, but none is flagged.
    const issues = findLabelIssues([1, 1, 1, 1, 0, 0, 0, 0], [0.99, 0.98, 0.97, 0.51, 0.1, 0.05, 0.02, 0.01]);
    expect(issues.flagged.every((i) => issues.selfConfidence[i] < 0.5)).toBe(true);
    expect(issues.flagged).not.toContain(3);
  });

  test('predictions that agree with every label find nothing', () => {
    const issues = findLabelIssues([0, 0, 0, 1, 1, 1], [0.02, 0.1, 0.05, 0.97, 0.9, 0.95]);
    expect(issues.flagged).toEqual([]);
    expect(issues.estimated).toBe(0);
  });

  test('planted flips among well-separated cells are flagged, counted, and ranked first', () => {
    const random = mulberry32(7);
    const truth = Array.from({ length: 400 }, (_, i) => i % 2);
    const probs400 = truth.map((t) => (t ? 0.6 + 0.4 * random() : 0.4 * random()));
    const flipped = new Set([5, 44, 101, 202, 303, 350, 12, 77]);
    const given = truth.map((t, i) => (flipped.has(i) ? 1 - t : t));
    const issues = findLabelIssues(given, probs400);
    expect(new Set(issues.flagged)).toEqual(flipped);
    expect(issues.estimated).toBe(flipped.size);
    expect(new Set(rankBySelfConfidence(issues).slice(0, flipped.size))).toEqual(flipped);
  });

  test('a class with no cells gets an unreachable threshold instead of a division by zero: no cell can be confidently of it', () => {
    const issues = findLabelIssues([0, 0, 0], [0.1, 0.9, 0.2]);
    expect(issues.thresholds[1]).toBe(2);
    expect(issues.confidentJoint).toEqual([[2, 0], [0, 1]]);
    expect(issues.flagged).toEqual([]);
  });
});

describe('cleanlab\'s round_preserving_sum', () => {
  test.each([
    [[1.25, 3.75], [1, 4]],
    // numpy rounds half to even, then moves the last of the equally wrong values: [2, 2] -> [2, 3].
    [[2.5, 2.5], [2, 3]],
    [[0.4, 0.4, 0.2], [0, 1, 0]],
    [[3, 2], [3, 2]],
  ])('%j rounds to %j, keeping the total', (values, rounded) => {
    expect(roundPreservingSum(values)).toEqual(rounded);
  });
});

test('precision and recall of the flagged cells and of the top ranks against known errors', () => {
  const check = checkAgainstKnownErrors([4, 2, 9], [4, 2, 9, 1, 7, 0], new Set([4, 9, 7, 5]), [2, 4, 100]);
  expect(check.known).toBe(4);
  expect(check.rows).toEqual([
    { what: 'flagged', k: 3, found: 2, precision: 2 / 3, recall: 0.5 },
    { what: 'top', k: 2, found: 1, precision: 0.5, recall: 0.25 },
    { what: 'top', k: 4, found: 2, precision: 0.5, recall: 0.5 },
    { what: 'top', k: 6, found: 3, precision: 0.5, recall: 0.75 },
  ]);
});
