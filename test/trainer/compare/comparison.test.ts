import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunSummary } from '../../../trainer/src/compare/run-summary';
import { differingParams, groupRuns, spread, summaryMetrics } from '../../../trainer/src/compare/summarize';
import { compareRuns } from '../../../trainer/src/compare/write-comparison';
import { readPredictions, writePredictions } from '../../../trainer/src/evaluate/predictions-file';

/** A finished run whose test predictions separate the classes by `margin`. */
function run(name: string, params: Record<string, string>, accuracy: number, margin: number): RunSummary {
  const labels = Array.from({ length: 40 }, (_, i) => i % 2);
  const probs = labels.map((label, i) => 0.5 + (label ? margin : -margin) * ((i % 5) / 5 + 0.2));
  return {
    name, source: `/runs/${name}`, status: 'FINISHED', tags: {},
    params: { epochs: '2', out: `/tmp/${name}`, ...params },
    metrics: { test_accuracy: accuracy, test_accuracy_ci_low: accuracy - 0.05, test_accuracy_ci_high: accuracy + 0.04, test_auc: 0.5 + margin },
    history: [1, 2].map((epoch) => ({
      epoch, loss: 0.7 / epoch, accuracy: 0.6, val_loss: 0.8 / epoch, val_accuracy: 0.55, learning_rate: 1e-3, epoch_seconds: 1, images_per_second: 100,
    })),
    predictions: { files: labels.map((_, i) => `f${i}.png`), patients: labels.map((_, i) => `P${i % 4}`), labels, probs },
    durationSeconds: 65,
  };
}

const folds = [run('fold-1', { model: 'micro', cvFold: '1' }, 0.9, 0.3), run('fold-2', { model: 'micro', cvFold: '2' }, 0.8, 0.2),
  run('fold-3', { model: 'micro', cvFold: '3' }, 0.85, 0.25)];

test('mean and sample standard deviation', () => {
  expect(spread([0.9, 0.8, 0.85])).toEqual({ mean: expect.closeTo(0.85, 10), sd: expect.closeTo(0.05, 10), n: 3 });
  expect(spread([0.9]).sd).toBeNaN();
});

test('runs of one configuration are grouped: folds and seeds are repeats, paths and digests do not count', () => {
  expect(differingParams(folds)).toEqual(['cvFold']);
  const [group] = groupRuns(folds);
  expect(group.label).toBe('all runs');
  expect(group.runs).toHaveLength(3);
  expect(group.metrics.test_accuracy.mean).toBeCloseTo(0.85, 10);
  expect(group.pooledAuc).toBeGreaterThan(0.5);
  const models = groupRuns([...folds, run('other', { model: 'cnn-1', cvFold: '1' }, 0.7, 0.1)]);
  expect(models.map((g) => [g.label, g.runs.length])).toEqual([['micro', 3], ['cnn-1', 1]]);
});

test('the parent run gets mean and sd of each test metric of the best configuration, and the pooled AUC', () => {
  const summary = summaryMetrics(groupRuns([...folds, run('other', { model: 'cnn-1', cvFold: '1' }, 0.95, 0.05)]));
  expect(summary).toMatchObject({ runs_compared: 4, configurations: 2, test_accuracy_mean: expect.closeTo(0.85, 10), test_accuracy_sd: expect.closeTo(0.05, 10) });
  expect(summary.test_auc_pooled).toBeGreaterThan(0.5);
});

test('the best configuration is the one with the lowest value of a metric that improves downwards', () => {
  const calibrated = (r: RunSummary, brier: number): RunSummary => ({ ...r, metrics: { ...r.metrics, test_brier: brier } });
  const groups = groupRuns([calibrated(folds[0], 0.08), calibrated(folds[1], 0.1), calibrated(run('other', { model: 'cnn-1' }, 0.7, 0.1), 0.2)]);
  expect(summaryMetrics(groups, 'test_brier').test_brier_mean).toBeCloseTo(0.09, 10);
  expect(summaryMetrics(groups, 'test_auc').test_auc_mean).toBeCloseTo(0.75, 10);
});

test('the report shows every run with its interval, the configuration as mean ± sd, overlaid curves, and what is missing', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'comparison-'));
  const result = await compareRuns(folder, folds, { title: 'Cross-validation of micro', missing: [{ name: 'fold 4', reason: 'its job failed' }] });
  const html = await readFile(result.report, 'utf8');
  expect(html).toContain('<h1>Cross-validation of micro</h1>');
  expect(html).toContain('<td>0.900 (0.850-0.940)</td>');
  expect(html).toContain('<td>0.850 ± 0.050</td>');
  expect(html).toContain('<td>fold 4</td><td>its job failed</td>');
  expect(html).toMatch(/<img alt="ROC curves" width="\d+" src="data:image\/png;base64,/);
  expect(html).toMatch(/<img alt="Learning curves" width="\d+" src="data:image\/png;base64,/);
  const json = JSON.parse(await readFile(join(folder, 'comparison.json'), 'utf8'));
  expect(json.configurations[0].runs).toEqual(['/runs/fold-1', '/runs/fold-2', '/runs/fold-3']);
  expect(json.summary).toEqual(result.summary);
});

test('test predictions survive the run folder, for comparisons made later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'predictions-'));
  const p = { files: ['Parasitized/a,"b".png', 'Uninfected/c.png'], patients: ['C1', 'C2'], labels: [1, 0], probs: [0.875, 0.125] };
  await writePredictions(dir, p);
  expect(await readPredictions(dir)).toEqual(p);
  expect(await readPredictions(join(dir, 'missing'))).toBeUndefined();
});
