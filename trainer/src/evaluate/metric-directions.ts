import type { COST_METRICS } from '../cloud/run-telemetry';
import { closestMatch } from '../option-problems';
import type { EpochRecord } from '../train/history';

/** Which way a metric improves; `none` for a figure that describes a run without ranking it (a count, the threshold). */
export type Better = 'higher' | 'lower' | 'none';

/** What metrics.json holds and MLflow gets with the model (evaluationRecord): what the champion rule can compare. */
const TEST_METRICS = {
  test_accuracy: 'higher',
  test_precision: 'higher',
  test_recall: 'higher',
  test_specificity: 'higher',
  test_f1: 'higher',
  test_auc: 'higher',
  test_mcc: 'higher',
  test_tp: 'higher',
  test_fp: 'lower',
  test_tn: 'higher',
  test_fn: 'lower',
  test_threshold: 'none',
  test_count: 'none',
  test_average_precision: 'higher',
  test_brier: 'lower',
  test_ece: 'lower',
  test_patients: 'none',
  /** The epoch whose weights were kept (recorded with the test figures). */
  best_epoch: 'none',
  // A better model moves both ends of an interval up.
  test_accuracy_ci_low: 'higher',
  test_accuracy_ci_high: 'higher',
  test_recall_ci_low: 'higher',
  test_recall_ci_high: 'higher',
  test_specificity_ci_low: 'higher',
  test_specificity_ci_high: 'higher',
  test_auc_ci_low: 'higher',
  test_auc_ci_high: 'higher',
  val_recall_at_threshold: 'higher',
  val_specificity_at_threshold: 'higher',
  val_precision_at_threshold: 'higher',
  val_accuracy_at_threshold: 'higher',
} as const satisfies Record<string, Better>;

/** metrics.jsonl and MLflow's per-epoch metrics. */
const EPOCH_METRICS = {
  loss: 'lower',
  accuracy: 'higher',
  val_loss: 'lower',
  val_accuracy: 'higher',
  learning_rate: 'none',
  epoch_seconds: 'lower',
  images_per_second: 'higher',
} as const satisfies Record<Exclude<keyof EpochRecord, 'epoch'>, Better>;

/** What a cloud run logs of its cost (beside MLflow's own system/ GPU readings, which rank nothing). */
const COST_METRIC_DIRECTIONS = {
  'system/gpu_seconds': 'lower',
  'system/cost_usd': 'lower',
  'system/instance_price_usd_per_hour': 'none',
} as const satisfies Record<(typeof COST_METRICS)[keyof typeof COST_METRICS], Better>;

/** A group's parent run: its own figures (its `<metric>_mean` and `_sd` follow the metric, see metricDirection). */
const GROUP_METRICS = { test_auc_pooled: 'higher', runs_compared: 'none', configurations: 'none' } as const satisfies Record<string, Better>;

/**
 * Every metric the trainer writes and which way it improves: the one table that the champion rule
 * (the registry), the comparison's ranking and the report read.
 */
export const METRIC_DIRECTIONS: Readonly<Record<string, Better>> = { ...TEST_METRICS, ...EPOCH_METRICS, ...COST_METRIC_DIRECTIONS, ...GROUP_METRICS };

/** The metrics `--champion-metric` accepts: test metrics that rank models, in the table's order. */
export const CHAMPION_METRICS: readonly string[] = Object.entries(TEST_METRICS).filter(([, better]) => better !== 'none').map(([key]) => key);

/** Which way `metric` improves; undefined for a metric the trainer does not write. */
export function metricDirection(metric: string): Better | undefined {
  if (Object.hasOwn(METRIC_DIRECTIONS, metric)) return METRIC_DIRECTIONS[metric];
  // A group's mean of a metric improves as the metric does; its spread ranks nothing.
  const summary = /^(.+)_(mean|sd)$/.exec(metric);
  const of = summary && Object.hasOwn(METRIC_DIRECTIONS, summary[1]) ? METRIC_DIRECTIONS[summary[1]] : undefined;
  if (!of) return undefined;
  return summary![2] === 'mean' ? of : 'none';
}

/** True when a higher value of `metric` is better; an error for a metric that ranks nothing or is unknown (options are checked first). */
export function higherIsBetter(metric: string): boolean {
  const direction = metricDirection(metric);
  if (direction === 'higher' || direction === 'lower') return direction === 'higher';
  throw new Error(`${metric} does not rank models (${direction ?? 'not a metric the trainer writes'}); please report it`);
}

/** Sorts best first by `metric` (in place); values it lacks go last. */
export function bestFirst<T>(items: T[], metric: string, value: (item: T) => number | undefined): T[] {
  const sign = higherIsBetter(metric) ? 1 : -1;
  const score = (item: T) => {
    const v = value(item);
    return v === undefined || Number.isNaN(v) ? -Infinity : sign * v;
  };
  return items.sort((a, b) => score(b) - score(a));
}

/** Why `metric` cannot decide the champion, or undefined when it can. */
export function championMetricProblem(metric: string): string | undefined {
  if (CHAMPION_METRICS.includes(metric)) return undefined;
  const choose = `choose one of ${CHAMPION_METRICS.join(', ')}`;
  const direction = metricDirection(metric);
  if (direction === 'none') return `'${metric}' is not better higher or lower, so it cannot rank models; ${choose}`;
  if (direction) return `'${metric}' is not one of the test metrics a model is registered with; ${choose}`;
  const suggestion = closestMatch(metric, CHAMPION_METRICS);
  return `'${metric}' is not a metric the trainer writes${suggestion ? ` (did you mean ${suggestion}?)` : ''}; ${choose}`;
}
