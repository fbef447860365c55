import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunFolders, type RunSummary } from '../../../trainer/src/compare/run-summary';
import { comparisonWarnings, differingParams, groupRuns, spread, summaryMetrics } from '../../../trainer/src/compare/summarize';
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

test('unfinished runs are said, marked in the report, and left out of the configuration\'s figures', async () => {
  const killed: RunSummary = { ...run('fold-4', { model: 'micro', cvFold: '4' }, 0, 0), status: 'KILLED', metrics: {}, predictions: undefined };
  const failed: RunSummary = { ...killed, name: 'fold-5', params: { model: 'micro', cvFold: '5' }, status: 'FAILED' };
  const folder = await mkdtemp(join(tmpdir(), 'comparison-'));
  const result = await compareRuns(folder, [...folds, killed, failed], { title: 'Cross-validation of micro' });
  expect(result.warnings).toEqual(['2 of the 5 runs did not finish: fold-4 (KILLED), fold-5 (FAILED); they have no test figures and are left out of the configurations\' figures']);
  const html = await readFile(result.report, 'utf8');
  expect(html).toContain('<div class="error">warning: 2 of the 5 runs did not finish');
  expect(html).toContain('<tr class="bad"><td>fold-4</td><td>KILLED (unfinished)</td>');
  expect(html).toContain('<td>all runs</td><td>3</td><td>0.850 ± 0.050</td>');
  expect(result.summary.runs_compared).toBe(3);
});

describe('runs whose figures do not compare are warned about', () => {
  const on = (r: RunSummary, data: string, dataset: string, split: string): RunSummary =>
    ({ ...r, params: { ...r.params, data, dataset_digest: dataset, split_digest: split } });

  test('different data, with what each run was trained on', () => {
    const runs = [on(run('a', { model: 'micro' }, 0.9, 0.3), 'synthetic:400', 'd1'.repeat(32), 's1'), on(run('b', { model: 'cnn-1' }, 0.8, 0.2), 'synthetic:2000', 'd2'.repeat(32), 's2')];
    expect(comparisonWarnings(runs, groupRuns(runs))).toEqual(['the runs were trained and tested on different data: '
      + 'synthetic:400 (digest d1d1d1d1): a; synthetic:2000 (digest d2d2d2d2): b. Their figures do not compare']);
  });

  test('configurations tested on different test sets; repeats of seeds or folds that pair up are fine', () => {
    const model = (name: string, m: string, seed: string, split: string) => on(run(name, { model: m, seed }, 0.9, 0.3), 'synthetic', 'd'.repeat(64), split);
    const paired = [model('a1', 'micro', '1', 's1'), model('a2', 'micro', '2', 's2'), model('b1', 'cnn-1', '1', 's1'), model('b2', 'cnn-1', '2', 's2')];
    expect(comparisonWarnings(paired, groupRuns(paired))).toEqual([]);
    const unpaired = [model('a', 'micro', '1', 's1'), model('b', 'cnn-1', '2', 's2')];
    expect(comparisonWarnings(unpaired, groupRuns(unpaired))).toEqual(['the configurations were not tested on the same test sets '
      + '(split_digest differs: micro / cnn-1): their differences mix the models with the test sets. Give them the same --seed and split options, or --split-from one run']);
  });
});

test('a cross-validation\'s folder is read as its folds, so it is summarised by their mean', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cv-folder-'));
  const record = (runName: string, tags: Record<string, string> = {}) => JSON.stringify({ runName, status: 'FINISHED', tags, startTime: '2026-12-01T10:00:00Z' });
  await writeFile(join(dir, 'run.json'), record('20261201-100000-micro-cv3', { 'malaria.group_kind': 'cross-validation' }));
  await writeFile(join(dir, 'metrics.json'), JSON.stringify({ test_accuracy_mean: 0.85 }));
  for (const [fold, accuracy] of [[10, 0.8], [2, 0.9], [1, 0.85]] as const) {
    await mkdir(join(dir, `fold-${fold}`));
    await writeFile(join(dir, `fold-${fold}`, 'run.json'), record(`fold-${fold}`));
    await writeFile(join(dir, `fold-${fold}`, 'params.json'), JSON.stringify({ model: 'micro', cvFold: fold }));
    await writeFile(join(dir, `fold-${fold}`, 'metrics.json'), JSON.stringify({ test_accuracy: accuracy }));
  }
  const runs = await readRunFolders(dir);
  expect(runs.map((r) => r.name)).toEqual(['fold-1', 'fold-2', 'fold-10']);
  const [group] = groupRuns(runs);
  expect(group.metrics.test_accuracy.mean).toBeCloseTo(0.85, 10);
  expect(await readRunFolders(join(dir, 'fold-1'))).toHaveLength(1);
});

test('test predictions survive the run folder, for comparisons made later', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'predictions-'));
  const p = { files: ['Parasitized/a,"b".png', 'Uninfected/c.png'], patients: ['C1', 'C2'], labels: [1, 0], probs: [0.875, 0.125] };
  await writePredictions(dir, p);
  expect(await readPredictions(dir)).toEqual(p);
  expect(await readPredictions(join(dir, 'missing'))).toBeUndefined();
});

test('a comparison of the study\'s networks opens with the study\'s table, then what it lacked', async () => {
  const study = [
    { ...run('r1', { model: 'cnn-2', batchSize: '128' }, 0.887, 0.3), metrics: {
      test_accuracy: 0.887, test_accuracy_ci_low: 0.87, test_accuracy_ci_high: 0.9, test_auc: 0.97, test_auc_ci_low: 0.95, test_auc_ci_high: 0.98,
      test_patients: 12, val_precision_at_threshold: 0.81, val_recall_at_threshold: 0.99, best_epoch: 1,
    } },
    run('r2', { model: 'vgg16', batchSize: '128' }, 0.95, 0.4),
  ];
  const folder = await mkdtemp(join(tmpdir(), 'study-'));
  const html = await readFile((await compareRuns(folder, study, { title: 'The original comparison' })).report, 'utf8');
  const table = html.slice(html.indexOf('As the original study'));
  expect(table).toContain('<th>Run Name</th><th>Duration</th><th>accuracy</th><th>val_accuracy</th><th>val_precision</th><th>val_recall</th>'
    + '<th>batch_size</th><th>convolutions</th><th>epochs</th><th>Test accuracy (95% CI)</th><th>Test AUC (95% CI)</th><th>Test patients</th>');
  // cnn-2 kept epoch 1 of 2: its training accuracy and val_accuracy are that epoch's; VGG16 (convolutions 0) comes last, as in the study.
  expect(table).toContain('<td>cnn-2 (3x3kernel)</td><td>1 min 05 s</td><td>0.600</td><td>0.550</td><td>0.810</td><td>0.990</td><td>128</td><td>2</td><td>2</td>'
    + '<td>0.887 (0.870-0.900)</td><td>0.970 (0.950-0.980)</td><td>12</td>');
  expect(table.indexOf('cnn-2 (3x3kernel)')).toBeLessThan(table.indexOf('<td>VGG16</td>'));
  expect(html.indexOf('As the original study')).toBeLessThan(html.indexOf('Runs (test metrics'));
  // Not for comparisons of other models.
  const other = await mkdtemp(join(tmpdir(), 'other-'));
  expect(await readFile((await compareRuns(other, folds, { title: 'x' })).report, 'utf8')).not.toContain('As the original study');
});
