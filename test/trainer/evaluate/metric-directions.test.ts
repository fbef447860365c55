import { evaluatePredictions, evaluationRecord } from '../../../trainer/src/evaluate/evaluation';
import {
  bestFirst, CHAMPION_METRICS, championMetricProblem, higherIsBetter, METRIC_DIRECTIONS, metricDirection,
} from '../../../trainer/src/evaluate/metric-directions';
import { chooseThreshold } from '../../../trainer/src/evaluate/threshold';

const LABELS = [1, 1, 0, 0, 1, 0];
const PROBS = [0.9, 0.4, 0.3, 0.6, 0.8, 0.1];

test('every metric a run records has a direction, and the champion can be any of them that ranks', () => {
  const threshold = chooseThreshold(LABELS, PROBS, { metric: 'sensitivity', value: 0.6 });
  const record = evaluationRecord(evaluatePredictions({ labels: LABELS, probs: PROBS, patients: ['a', 'a', 'b', 'b', 'c', 'c'] }, threshold, { seed: 1 }));
  for (const key of Object.keys(record)) expect([key, METRIC_DIRECTIONS[key]]).toEqual([key, expect.stringMatching(/^(higher|lower|none)$/)]);
  expect(CHAMPION_METRICS).toEqual(Object.keys(record).filter((key) => !['test_threshold', 'test_count', 'test_patients'].includes(key)));
});

test.each([
  ['test_auc', 'higher'], ['test_brier', 'lower'], ['test_ece', 'lower'], ['test_fn', 'lower'], ['test_fp', 'lower'],
  ['val_loss', 'lower'], ['system/cost_usd', 'lower'], ['test_threshold', 'none'],
  // A parent run's summaries: the mean goes as its metric, the spread ranks nothing.
  ['test_brier_mean', 'lower'], ['test_auc_sd', 'none'], ['test_auc_pooled', 'higher'], ['test_loss', undefined],
])('%s: %s is better', (metric, better) => {
  expect(metricDirection(metric)).toBe(better);
});

test('ranking by a metric that improves downwards puts the lowest first, and a metric that ranks nothing is a bug', () => {
  expect(bestFirst([0.2, 0.05, undefined, 0.1], 'test_brier', (v) => v)).toEqual([0.05, 0.1, 0.2, undefined]);
  expect(bestFirst([0.9, 0.95, 0.8], 'test_auc', (v) => v)).toEqual([0.95, 0.9, 0.8]);
  expect(() => higherIsBetter('test_count')).toThrow('test_count does not rank models');
});

test.each([
  ['test_breir', "'test_breir' is not a metric the trainer writes (did you mean test_brier?); choose one of test_accuracy, test_precision"],
  ['auc', "'auc' is not a metric the trainer writes; choose one of"],
  ['test_threshold', "'test_threshold' is not better higher or lower, so it cannot rank models"],
  ['val_loss', "'val_loss' is not one of the test metrics a model is registered with"],
])('--champion-metric %s is refused: %s', (metric, message) => {
  expect(championMetricProblem(metric)).toContain(message);
});
