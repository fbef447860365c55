import { mulberry32 } from '../../../trainer/src/data/random';
import { computeMetrics } from '../../../trainer/src/evaluate/metrics';
import { chooseThreshold, parseThresholdTarget, thresholdTargetProblem } from '../../../trainer/src/evaluate/threshold';
import { UserError } from '../../../trainer/src/user-error';

// Validation scores, highest first: 0.9 P, 0.8 P, 0.7 N, 0.6 P, 0.4 N, 0.3 P, 0.2 N, 0.1 N.
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.6, 0.3, 0.7, 0.4, 0.2, 0.1];

describe('chooseThreshold', () => {
  test('without a target it is 0.5, with what 0.5 gives on validation', () => {
    // 0.5 lets in 0.9, 0.8, 0.7 (a negative) and 0.6: 3 of 4 positives, 3 of 4 negatives cleared, 3 of 4 let in right.
    expect(chooseThreshold(LABELS, PROBS)).toEqual({ threshold: 0.5, validation: { sensitivity: 0.75, specificity: 0.75, precision: 0.75, accuracy: 0.75, count: 8 } });
  });

  test.each([
    // The highest threshold that finds 3 of 4 lies between 0.6 (the third positive) and the next score, 0.4.
    ['sensitivity', 0.75, 0.5, 0.75, 0.75],
    ['sensitivity', 0.7, 0.5, 0.75, 0.75],
    ['sensitivity', 1, 0.25, 1, 0.5],
    // The lowest threshold that clears every negative lies between 0.8 and the first negative, 0.7.
    ['specificity', 1, 0.75, 0.5, 1],
    ['specificity', 0.75, 0.5, 0.75, 0.75],
    ['specificity', 0.5, 0.25, 1, 0.5],
  ] as const)('%s >= %p gives %p (validation sensitivity %p, specificity %p)', (metric, value, threshold, sensitivity, specificity) => {
    const choice = chooseThreshold(LABELS, PROBS, { metric, value });
    expect(choice.threshold).toBeCloseTo(threshold, 12);
    expect(choice.validation).toMatchObject({ sensitivity, specificity, count: 8 });
    expect(choice.target).toEqual({ metric, value });
  });

  test('on random scores the chosen threshold meets the target on validation, and a stricter one would not be better', () => {
    const random = mulberry32(5);
    const labels = Array.from({ length: 500 }, () => (random() < 0.4 ? 1 : 0));
    const probs = labels.map((y) => Math.min(1, Math.max(0, 0.35 * y + 0.65 * random())));
    for (const value of [0.8, 0.9, 0.95, 0.99]) {
      const { threshold } = chooseThreshold(labels, probs, { metric: 'sensitivity', value });
      expect(computeMetrics(labels, probs, threshold).recall).toBeGreaterThanOrEqual(value);
      // The next higher validation score as threshold misses the target: this is the most specific threshold that meets it.
      const above = Math.min(...probs.filter((p) => p > threshold));
      expect(computeMetrics(labels, probs, above + 1e-9).recall).toBeLessThan(value);

      const spec = chooseThreshold(labels, probs, { metric: 'specificity', value });
      expect(computeMetrics(labels, probs, spec.threshold).specificity).toBeGreaterThanOrEqual(value);
      const below = Math.max(...probs.filter((p) => p < spec.threshold));
      expect(computeMetrics(labels, probs, below).specificity).toBeLessThan(value);
    }
  });

  test('a specificity target that the top validation score (1.0) blocks is not reached, and the figures are what threshold 1 gives', () => {
    // A saturated sigmoid (or the TTA mean of eight 1.0s) scores an uninfected cell exactly 1.0: no threshold up to 1 clears it.
    const labels = [0, 0, 0, 1, 1];
    const probs = [1.0, 0.2, 0.1, 1.0, 0.9];
    const choice = chooseThreshold(labels, probs, { metric: 'specificity', value: 0.99 });
    const truth = computeMetrics(labels, probs, choice.threshold);
    expect(choice.threshold).toBe(1);
    expect(choice.validation).toEqual({ sensitivity: truth.recall, specificity: truth.specificity, precision: truth.precision, accuracy: truth.accuracy, count: 5 });
    expect(choice.validation?.specificity).toBeCloseTo(2 / 3, 12);
    expect(choice.warning).toBe(
      'specificity >= 0.99 cannot be reached on validation: 1 of 3 Uninfected cells scores 1, the highest score there is, '
        + 'so no threshold clears it; threshold 1 gives specificity 0.667. Lower the target, or train with --label-smoothing 0.1, '
        + 'which keeps scores off 1',
    );
  });

  test('a target reached only by labelling every validation cell one class says so', () => {
    // Specificity 1 needs a threshold above the top score 0.9, an uninfected cell's: nothing is labelled Parasitized.
    const nothing = chooseThreshold([0, 1, 0, 1], [0.9, 0.8, 0.3, 0.1], { metric: 'specificity', value: 1 });
    expect(nothing.threshold).toBeCloseTo(0.95, 12);
    expect(nothing.validation).toEqual({ sensitivity: 0, specificity: 1, precision: 0, accuracy: 0.5, count: 4 });
    expect(nothing.warning).toBe('specificity >= 1 is reached on validation only by labelling every cell Uninfected (sensitivity 0); lower the target');
    // Sensitivity 1 needs every score down to the lowest, 0: a parasitized cell's, so every cell is labelled Parasitized.
    const everything = chooseThreshold([1, 0, 0, 1], [0.9, 0.8, 0.3, 0], { metric: 'sensitivity', value: 1 });
    expect(everything.threshold).toBe(0);
    expect(everything.validation).toEqual({ sensitivity: 1, specificity: 0, precision: 0.5, accuracy: 0.5, count: 4 });
    expect(everything.warning).toBe('sensitivity >= 1 is reached on validation only by labelling every cell Parasitized (specificity 0); lower the target');
    expect(chooseThreshold(LABELS, PROBS, { metric: 'sensitivity', value: 0.75 }).warning).toBeUndefined();
  });

  test('with saturated scores (0 and 1), ties and float32 TTA means, the validation figures are what the threshold gives', () => {
    const random = mulberry32(11);
    for (let trial = 0; trial < 100; trial++) {
      const n = 2 + Math.floor(random() * 30);
      const labels = Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0));
      // Scores on a coarse grid, many of them exactly 0 or 1, as a float32 model output is.
      const probs = Float32Array.from(labels, () => Math.min(1, Math.max(0, Math.round((random() * 1.4 - 0.2) * 8) / 8)));
      for (const metric of ['sensitivity', 'specificity'] as const) {
        for (const value of [0.5, 0.9, 0.99, 1]) {
          if (!labels.includes(metric === 'sensitivity' ? 1 : 0)) continue;
          const choice = chooseThreshold(labels, probs, { metric, value });
          const truth = computeMetrics(labels, probs, choice.threshold);
          expect(choice.threshold).toBeGreaterThanOrEqual(0);
          expect(choice.threshold).toBeLessThanOrEqual(1);
          expect(choice.validation).toEqual({ sensitivity: truth.recall, specificity: truth.specificity, precision: truth.precision, accuracy: truth.accuracy, count: n });
          const reached = (metric === 'sensitivity' ? truth.recall : truth.specificity) >= value;
          expect(reached || /cannot be reached/.test(choice.warning ?? '')).toBe(true);
        }
      }
    }
  });

  test('a target for a class the validation split lacks is a user error naming the option', () => {
    expect(() => chooseThreshold([0, 0], [0.1, 0.2], { metric: 'sensitivity', value: 0.9 })).toThrow(UserError);
    expect(() => chooseThreshold([0, 0], [0.1, 0.2], { metric: 'sensitivity', value: 0.9 })).toThrow('--threshold-for sensitivity needs Parasitized images');
    expect(() => chooseThreshold([1, 1], [0.1, 0.2], { metric: 'specificity', value: 0.9 })).toThrow('needs Uninfected images');
  });
});

describe('threshold targets', () => {
  test('parses sensitivity=... and specificity=...', () => {
    expect(parseThresholdTarget('sensitivity=0.95')).toEqual({ metric: 'sensitivity', value: 0.95 });
    expect(parseThresholdTarget(' specificity = 1 ')).toEqual({ metric: 'specificity', value: 1 });
  });

  test.each([
    ['recall=0.9', "'recall' cannot set the threshold: use sensitivity or specificity"],
    ['sensitivity=95', 'a share above 0 and at most 1 (0.95, not 95%)'],
    ['sensitivity=0', 'a share above 0'],
    ['sensitivity', 'give sensitivity=<value> or specificity=<value>'],
  ])('%p is refused: %s', (text, message) => {
    expect(thresholdTargetProblem(text)).toContain(message);
    expect(() => parseThresholdTarget(text)).toThrow(UserError);
  });
});
