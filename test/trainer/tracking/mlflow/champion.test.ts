import { decideChampion, greaterIsBetterFor } from '../../../../trainer/src/tracking/mlflow/champion';

describe('decideChampion', () => {
  test.each([
    ['test_auc', 0.91, 0.9, true],
    ['test_auc', 0.9, 0.9, false],
    ['test_auc', 0.85, 0.9, false],
    ['test_auc', 0.5, undefined, true],
    ['test_auc', 0.5, Number.NaN, true],
    ['test_auc', undefined, 0.9, false],
    ['test_auc', Number.NaN, undefined, false],
    ['test_loss', 0.2, 0.3, true],
    ['test_loss', 0.3, 0.2, false],
  ])('%s: new %p vs champion %p -> promote %p', (metric, candidate, champion, promote) => {
    expect(decideChampion(metric, candidate, champion).promote).toBe(promote);
  });

  test('the reason names both values with three decimals, more only where three would hide the difference', () => {
    expect(decideChampion('test_auc', 0.85, 0.9).reason).toBe("test_auc 0.850 does not beat the champion's 0.900");
    expect(decideChampion('test_auc', 0.8526315789473684, 0.8).reason).toBe("test_auc 0.853 beats the champion's 0.800");
    expect(decideChampion('test_auc', 0.97312, 0.97288).reason).toBe("test_auc 0.9731 beats the champion's 0.9729");
    expect(decideChampion('test_auc', 0.9, 0.9).reason).toBe("test_auc 0.900 does not beat the champion's 0.900");
  });

  test('losses and errors improve downwards, everything else upwards', () => {
    expect([greaterIsBetterFor('test_auc'), greaterIsBetterFor('test_loss'), greaterIsBetterFor('test_error_rate')]).toEqual([true, false, false]);
  });
});
