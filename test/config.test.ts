import { parseTrainConfig } from '../trainer/src/config';
import { UserError } from '../trainer/src/user-error';

describe('parseTrainConfig', () => {
  test('fills every default', () => {
    const config = parseTrainConfig({});
    expect(config).toMatchObject({ model: 'compact', imageSize: 100, split: 'patient', splitFractions: [0.8, 0.1, 0.1] });
  });

  test.each([
    [{ epochs: 0 }, '--epochs'],
    [{ splitFractions: [0.5, 0.1, 0.1] }, '--split-fractions'],
    [{ backend: 'cuda' }, '--backend'],
    [{ bogus: 1 }, '--bogus: unknown option'],
    [{ epochz: 1 }, '--epochz: unknown option; did you mean --epochs?'],
  ])('rejects %j naming %s', (input, key) => {
    expect(() => parseTrainConfig(input)).toThrow(UserError);
    expect(() => parseTrainConfig(input)).toThrow(key);
  });

  test('--threshold-for takes sensitivity=<share> or specificity=<share>', () => {
    expect(parseTrainConfig({ thresholdFor: 'sensitivity=0.95' }).thresholdFor).toBe('sensitivity=0.95');
    expect(parseTrainConfig({}).thresholdFor).toBeUndefined();
  });

  test.each([
    ['recall=0.9', "--threshold-for: 'recall' cannot set the threshold: use sensitivity or specificity"],
    ['sensitivity=95', '--threshold-for: sensitivity must be a share above 0 and at most 1 (0.95, not 95%)'],
    ['0.95', "--threshold-for: '0.95' is not a target: give sensitivity=<value> or specificity=<value>"],
  ])('refuses --threshold-for %p with a message that names the fix', (thresholdFor, message) => {
    expect(() => parseTrainConfig({ thresholdFor })).toThrow(UserError);
    expect(() => parseTrainConfig({ thresholdFor })).toThrow(message);
  });
});

describe('cross-validation options', () => {
  test('--cv K alone, or with the fold to train', () => {
    expect(parseTrainConfig({ cv: 5 })).toMatchObject({ cv: 5 });
    expect(parseTrainConfig({ cv: 5, cvFold: 5 })).toMatchObject({ cv: 5, cvFold: 5 });
  });

  test.each([
    [{ cv: 1 }, '--cv: must be a whole number of at least 2 (got 1)'],
    [{ cvFold: 2 }, '--cv-fold: needs --cv K (the number of folds)'],
    [{ cv: 3, cvFold: 4 }, '--cv-fold: must be between 1 and --cv (3)'],
    [{ cv: 3, splitFrom: 'runs/x' }, '--cv: makes its own folds; drop --split-from'],
  ])('rejects %j with %s', (input, message) => {
    expect(() => parseTrainConfig(input)).toThrow(message);
  });
});
