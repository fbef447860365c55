import { mulberry32 } from '../../../trainer/src/data/random';
import { bootstrapAucByPatient, wilsonInterval } from '../../../trainer/src/evaluate/intervals';
import { rocAuc } from '../../../trainer/src/evaluate/metrics';

describe('wilsonInterval', () => {
  test.each([
    // Reference values (e.g. statsmodels proportion_confint(method='wilson')).
    [8, 10, 0.4902, 0.9433],
    [50, 100, 0.4038, 0.5962],
    [0, 20, 0, 0.1611],
    [20, 20, 0.8389, 1],
  ])('%i of %i: %p to %p', (successes, trials, low, high) => {
    const interval = wilsonInterval(successes, trials);
    expect(interval?.low).toBeCloseTo(low, 4);
    expect(interval?.high).toBeCloseTo(high, 4);
  });

  test('narrows as the count grows and is undefined without trials', () => {
    const small = wilsonInterval(9, 10)!;
    const large = wilsonInterval(900, 1000)!;
    expect(large.high - large.low).toBeLessThan(small.high - small.low);
    expect(wilsonInterval(0, 0)).toBeUndefined();
    expect(() => wilsonInterval(3, 2)).toThrow('0 <= successes <= trials');
  });
});

/** Cells of `patients` patients; each patient has its own share of parasitized cells and its own separation of the classes, as stain and slide quality give. */
function clustered(patients: number, cellsEach: number, seed: number) {
  const random = mulberry32(seed);
  const labels: number[] = [];
  const probs: number[] = [];
  const ids: string[] = [];
  for (let p = 0; p < patients; p++) {
    const prevalence = 0.2 + 0.6 * random();
    const separation = 3 * random();
    const shift = (random() - 0.5) * 2;
    for (let c = 0; c < cellsEach; c++) {
      const label = random() < prevalence ? 1 : 0;
      labels.push(label);
      probs.push(1 / (1 + Math.exp(-(shift + (label ? separation : -separation) + (random() - 0.5) * 2))));
      ids.push(`P${p}`);
    }
  }
  return { labels, probs, ids };
}

describe('bootstrapAucByPatient', () => {
  const { labels, probs, ids } = clustered(8, 60, 7);

  test('is reproducible for a seed and brackets the AUC of the whole test set', () => {
    const a = bootstrapAucByPatient(labels, probs, ids, { seed: 1 })!;
    expect(bootstrapAucByPatient(labels, probs, ids, { seed: 1 })).toEqual(a);
    expect(bootstrapAucByPatient(labels, probs, ids, { seed: 2 })).not.toEqual(a);
    expect(a).toMatchObject({ resamples: 2000, drawn: 2000, patients: 8 });
    const auc = rocAuc(labels, probs);
    expect(a.low).toBeLessThan(auc);
    expect(a.high).toBeGreaterThan(auc);
  });

  test('is wider when cells cluster by patient than a bootstrap that treats every cell as its own patient', () => {
    const byPatient = bootstrapAucByPatient(labels, probs, ids, { seed: 3 })!;
    const byCell = bootstrapAucByPatient(labels, probs, ids.map((_, i) => `cell${i}`), { seed: 3 })!;
    expect(byPatient.high - byPatient.low).toBeGreaterThan(1.5 * (byCell.high - byCell.low));
  });

  test('with one patient every resample is the same test set, so the interval is the AUC itself', () => {
    const one = bootstrapAucByPatient(labels, probs, labels.map(() => 'P0'), { seed: 1, resamples: 50 })!;
    expect(one.low).toBeCloseTo(rocAuc(labels, probs), 12);
    expect(one.high).toBeCloseTo(rocAuc(labels, probs), 12);
    expect(one.patients).toBe(1);
  });

  test('skips resamples that hold one class only, and is undefined when all do', () => {
    // Each patient has one class: a resample drawing only P0 or only P1 has no AUC.
    const interval = bootstrapAucByPatient([1, 1, 0, 0], [0.9, 0.8, 0.2, 0.1], ['P0', 'P0', 'P1', 'P1'], { seed: 1, resamples: 400 })!;
    expect(interval.resamples).toBeGreaterThan(100);
    expect(interval.resamples).toBeLessThan(300);
    expect(bootstrapAucByPatient([1, 1], [0.9, 0.8], ['P0', 'P1'], { seed: 1 })).toBeUndefined();
  });
});
