import { bestFirst } from '../evaluate/metric-directions';
import { rocAuc } from '../evaluate/metrics';
import { isFinished, type RunSummary } from './run-summary';

/** The test metrics a comparison lines up, in this order, with how people name them. */
export const COMPARED_METRICS: readonly (readonly [key: string, label: string])[] = [
  ['test_accuracy', 'Accuracy'],
  ['test_recall', 'Sensitivity'],
  ['test_specificity', 'Specificity'],
  ['test_auc', 'ROC AUC'],
  ['test_average_precision', 'Average precision'],
  ['test_f1', 'F1'],
  ['test_mcc', 'MCC'],
  ['test_brier', 'Brier score'],
  ['test_ece', 'Calibration error'],
];

/** Options that tell runs of one configuration apart without making it another (what repeats measure). */
const REPEAT_KEYS = new Set(['seed', 'cvFold']);
/** Params that differ between runs without saying anything about the model (or follow from one that does: param_count from model). */
const INCIDENTAL_KEYS = new Set([
  'out', 'cacheDir', 'checkpointUri', 'datasetCache', 'dataset_digest', 'split_digest', 'splitFrom', 'threads', 'backend', 'param_count', 'registerModel',
]);

export interface MetricSpread {
  readonly mean: number;
  /** Sample standard deviation (n - 1); NaN for a single run. */
  readonly sd: number;
  readonly n: number;
}

/** Runs of one configuration (the folds of a cross-validation, the seeds of one cell), summarised. */
export interface RunGroupSummary {
  /** What sets the group apart from the others (`cnn-1`, `model=cnn-1 image-size=64`), or `all runs`. */
  readonly label: string;
  readonly runs: readonly RunSummary[];
  readonly metrics: Readonly<Record<string, MetricSpread>>;
  /** AUC of all the group's test predictions pooled, when every run has them. */
  readonly pooledAuc?: number;
}

/** The params that differ between runs (left out: repeats' seeds and folds, paths, digests). */
export function differingParams(runs: readonly RunSummary[]): string[] {
  const keys = [...new Set(runs.flatMap((run) => Object.keys(run.params)))].sort();
  return keys.filter((key) => !INCIDENTAL_KEYS.has(key) && new Set(runs.map((run) => run.params[key] ?? '')).size > 1);
}

/** Runs grouped by everything that differs except seeds and folds: each group one configuration, measured n times. */
export function groupRuns(runs: readonly RunSummary[]): RunGroupSummary[] {
  const keys = differingParams(runs).filter((key) => !REPEAT_KEYS.has(key));
  const groups = bucket(runs, (run) => keys.map((key) => (key === 'model' ? run.params[key] : `${key}=${run.params[key] ?? ''}`)).join(' ') || 'all runs');
  return [...groups.entries()].map(([label, members]) => summarizeGroup(label, members));
}

export function summarizeGroup(label: string, runs: readonly RunSummary[]): RunGroupSummary {
  const metrics: Record<string, MetricSpread> = {};
  for (const [key] of COMPARED_METRICS) {
    const values = runs.map((run) => run.metrics[key]).filter((v): v is number => Number.isFinite(v));
    if (values.length) metrics[key] = spread(values);
  }
  const withPredictions = runs.filter((run) => run.predictions);
  const pooledAuc = withPredictions.length === runs.length && runs.length > 1
    ? rocAuc(withPredictions.flatMap((r) => Array.from(r.predictions!.labels)), withPredictions.flatMap((r) => Array.from(r.predictions!.probs)))
    : undefined;
  return { label, runs, metrics, ...(pooledAuc === undefined ? {} : { pooledAuc }) };
}

export function spread(values: readonly number[]): MetricSpread {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, sd, n };
}

/**
 * The figures a group's parent run gets in MLflow: `<metric>_mean` and `<metric>_sd` of each test
 * metric over its runs, the pooled AUC, and how many runs finished. With several groups (a sweep
 * over models), those of the best group by `rankBy` (higher or lower, as the metric goes), and the count of groups.
 */
export function summaryMetrics(groups: readonly RunGroupSummary[], rankBy = 'test_auc'): Record<string, number> {
  const [best] = bestFirst([...groups], rankBy, (group) => group.metrics[rankBy]?.mean);
  const out: Record<string, number> = { runs_compared: groups.reduce((n, g) => n + g.runs.length, 0), configurations: groups.length };
  if (!best) return out;
  for (const [key, value] of Object.entries(best.metrics)) {
    out[`${key}_mean`] = value.mean;
    if (Number.isFinite(value.sd)) out[`${key}_sd`] = value.sd;
  }
  if (best.pooledAuc !== undefined) out.test_auc_pooled = best.pooledAuc;
  return out;
}

/**
 * What would make a comparison's figures mislead, in plain words: runs that did not finish (no
 * test figures: left out of the configurations), runs on different data, and configurations
 * tested on different test sets (their differences then mix the models with the patients they
 * were tested on). Repeats of one configuration (seeds, folds) are meant to differ in their splits:
 * configurations are paired when each was tested on the same set of splits.
 */
export function comparisonWarnings(runs: readonly RunSummary[], groups: readonly RunGroupSummary[]): string[] {
  const warnings: string[] = [];
  const unfinished = runs.filter((run) => !isFinished(run));
  if (unfinished.length) {
    warnings.push(`${unfinished.length} of the ${runs.length} runs did not finish: ${listed(unfinished.map((r) => `${r.name} (${r.status})`))}; `
      + 'they have no test figures and are left out of the configurations\' figures');
  }
  const byData = bucket(runs.filter((run) => run.params.dataset_digest), (run) => run.params.dataset_digest ?? '');
  if (byData.size > 1) {
    const sets = [...byData].map(([digest, members]) => `${members[0].params.data ?? 'data'} (digest ${digest.slice(0, 8)}): ${listed(members.map((r) => r.name))}`);
    warnings.push(`the runs were trained and tested on different data: ${sets.join('; ')}. Their figures do not compare`);
    return warnings;
  }
  const splitsOf = (group: RunGroupSummary) => [...new Set(group.runs.map((run) => run.params.split_digest ?? ''))].sort().join(',');
  const bySplits = bucket(groups, splitsOf);
  if (bySplits.size > 1) {
    warnings.push(`the configurations were not tested on the same test sets (split_digest differs: ${[...bySplits.values()].map((g) => listed(g.map((x) => x.label))).join(' / ')}): `
      + 'their differences mix the models with the test sets. Give them the same --seed and split options, or --split-from one run');
  }
  return warnings;
}

function bucket<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) map.set(key(item), [...(map.get(key(item)) ?? []), item]);
  return map;
}

/** `a, b, c and 4 more`. */
function listed(names: readonly string[], shown = 3): string {
  return names.length > shown ? `${names.slice(0, shown).join(', ')} and ${names.length - shown} more` : names.join(', ');
}
