import { learningRateAt, type LrSchedule } from '../../../trainer/src/train/learning-rate';

const schedule = (name: LrSchedule['name'], extra: Partial<LrSchedule> = {}): LrSchedule => ({ name, base: 0.01, patience: 1, factor: 0.5, ...extra });
const at = (epoch: number, step = 0, valLosses: number[] = []) => ({ epoch, epochs: 4, step, steps: 10, valLosses });

describe('learningRateAt', () => {
  test('constant keeps the base rate whatever happens', () => {
    expect(learningRateAt(schedule('constant'), at(1))).toBe(0.01);
    expect(learningRateAt(schedule('constant'), at(4, 9, [0.5, 0.6, 0.7]))).toBe(0.01);
  });

  test('cosine starts at the base rate, is at half of it halfway and nears 0 at the last step', () => {
    const cosine = schedule('cosine');
    expect(learningRateAt(cosine, at(1, 0))).toBeCloseTo(0.01, 12);
    expect(learningRateAt(cosine, at(3, 0))).toBeCloseTo(0.005, 12);
    // A quarter of the way: (1 + cos(pi/4)) / 2 of the base rate.
    expect(learningRateAt(cosine, at(2, 0))).toBeCloseTo(0.01 * (1 + Math.SQRT1_2) / 2, 12);
    // The last of 40 steps: one step short of the end of the half cosine.
    expect(learningRateAt(cosine, at(4, 9))).toBeCloseTo(0.01 * 0.5 * (1 + Math.cos((Math.PI * 39) / 40)), 12);
    expect(learningRateAt(cosine, at(4, 9))).toBeLessThan(0.01 * 0.002);
  });

  test('cosine falls at every step and does not depend on validation losses', () => {
    const cosine = schedule('cosine');
    const rates = Array.from({ length: 40 }, (_, i) => learningRateAt(cosine, at(Math.floor(i / 10) + 1, i % 10)));
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1]);
    expect(learningRateAt(cosine, at(3, 5, [0.1, 0.9]))).toBe(learningRateAt(cosine, at(3, 5)));
  });

  test('plateau cuts the rate by the factor each time validation loss has not improved for `patience` epochs', () => {
    const plateau = schedule('plateau', { patience: 2, factor: 0.1 });
    expect(learningRateAt(plateau, at(1))).toBe(0.01);
    expect(learningRateAt(plateau, at(4, 0, [0.5, 0.4, 0.3]))).toBe(0.01);
    // One epoch without improvement is within patience; the second is not.
    expect(learningRateAt(plateau, at(4, 0, [0.5, 0.4, 0.45]))).toBe(0.01);
    expect(learningRateAt(plateau, at(4, 0, [0.5, 0.4, 0.45, 0.41]))).toBeCloseTo(0.001, 12);
    // An improvement resets the wait; two more stalls cut again.
    expect(learningRateAt(plateau, at(4, 0, [0.5, 0.4, 0.45, 0.41, 0.3, 0.31, 0.32]))).toBeCloseTo(0.0001, 12);
    // The rate is the same at every step of an epoch.
    expect(learningRateAt(plateau, at(4, 7, [0.5, 0.4, 0.45, 0.41]))).toBeCloseTo(0.001, 12);
  });

  test('plateau never cuts below a thousandth of the base rate', () => {
    const plateau = schedule('plateau', { patience: 1, factor: 0.1 });
    const stalled = [0.5, ...Array.from({ length: 10 }, () => 0.6)];
    expect(learningRateAt(plateau, at(4, 0, stalled))).toBeCloseTo(0.01 * 1e-3, 12);
  });
});
