import { decideChampion } from '../../../../trainer/src/tracking/mlflow/champion';

describe('decideChampion', () => {
  test.each([
    ['test_auc', 0.91, 0.9, true],
    ['test_auc', 0.9, 0.9, false],
    ['test_auc', 0.85, 0.9, false],
    ['test_auc', 0.5, undefined, true],
    ['test_auc', 0.5, Number.NaN, true],
    ['test_auc', undefined, 0.9, false],
    ['test_auc', Number.NaN, undefined, false],
    // Calibration and error counts improve downwards: a worse model must not take the alias.
    ['test_brier', 0.2, 0.1, false],
    ['test_brier', 0.1, 0.2, true],
    ['test_ece', 0.08, 0.03, false],
    ['test_fn', 12, 7, false],
    ['test_fp', 3, 9, true],
    ['test_auc_ci_low', 0.93, 0.91, true],
  ])('%s: new %p vs champion %p -> promote %p', (metric, candidate, champion, promote) => {
    expect(decideChampion(metric, candidate, champion).promote).toBe(promote);
  });

  test('the reason names both values with three decimals, more only where three would hide the difference', () => {
    expect(decideChampion('test_auc', 0.85, 0.9).reason).toBe("test_auc 0.850 does not beat the champion's 0.900");
    expect(decideChampion('test_auc', 0.8526315789473684, 0.8).reason).toBe("test_auc 0.853 beats the champion's 0.800");
    expect(decideChampion('test_auc', 0.97312, 0.97288).reason).toBe("test_auc 0.9731 beats the champion's 0.9729");
    expect(decideChampion('test_auc', 0.9, 0.9).reason).toBe("test_auc 0.900 does not beat the champion's 0.900");
    expect(decideChampion('test_brier', 0.2, 0.1).reason).toBe("test_brier 0.200 does not beat the champion's 0.100");
  });
});
