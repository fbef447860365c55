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

describe('--validate-with-tta', () => {
  test('is off by default, and needs test-time augmentation', () => {
    expect(parseTrainConfig({})).toMatchObject({ tta: true, validateWithTta: false });
    expect(parseTrainConfig({ validateWithTta: true }).validateWithTta).toBe(true);
    expect(() => parseTrainConfig({ validateWithTta: true, tta: false })).toThrow('--validate-with-tta: scores validation as the model is used, with test-time augmentation; drop --no-tta');
  });
});

describe('--champion-metric', () => {
  test('takes any test metric that ranks models, higher or lower is better', () => {
    expect(parseTrainConfig({}).championMetric).toBe('test_auc');
    expect(parseTrainConfig({ championMetric: 'test_brier' }).championMetric).toBe('test_brier');
  });

  test.each([
    ['test_breir', "--champion-metric: 'test_breir' is not a metric the trainer writes (did you mean test_brier?); choose one of test_accuracy, "],
    ['test_threshold', "--champion-metric: 'test_threshold' is not better higher or lower"],
    ['val_loss', "--champion-metric: 'val_loss' is not one of the test metrics a model is registered with"],
  ])('refuses %p when the options are read, with the metrics it takes', (championMetric, message) => {
    expect(() => parseTrainConfig({ championMetric })).toThrow(UserError);
    expect(() => parseTrainConfig({ championMetric })).toThrow(message);
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
