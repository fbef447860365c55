import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { escapeHtml, formatDuration, formatMetric, htmlTable } from '../evaluate/html';
import { inlinePng, plotSection, reportPage } from '../evaluate/report';
import { plotLearningCurveOverlay, plotRocOverlay, type LabeledPredictions } from './comparison-plots';
import { isFinished, readRunFolder, type RunSummary } from './run-summary';
import {
  COMPARED_METRICS, comparisonWarnings, differingParams, groupRuns, summaryMetrics, type MetricSpread, type RunGroupSummary,
} from './summarize';
import { isStudyComparison, studyTableSection } from './study-table';

export interface ComparisonOptions {
  readonly title: string;
  /** Members that left no run to compare, with the reason. */
  readonly missing?: readonly { readonly name: string; readonly reason: string }[];
  /** The metric that ranks configurations for the summary. @default test_auc */
  readonly rankBy?: string;
  /** More of the report (HTML), after the ROC curves: a cross-validation's suspected label errors. @default none */
  readonly sections?: readonly string[];
}

export interface ComparisonResult {
  /** `<folder>/report.html`. */
  readonly report: string;
  /** What goes to MLflow on a group's parent run (see summaryMetrics). */
  readonly summary: Record<string, number>;
  /** What makes the figures mislead (see comparisonWarnings): shown atop the report, and for the command to print. */
  readonly warnings: readonly string[];
}

/** The cost figures a cloud run logs (trainer/src/cloud/run-telemetry.ts), when present. */
const COST_KEYS = { gpuSeconds: 'system/gpu_seconds', costUsd: 'system/cost_usd' } as const;

/** Compares the runs in these folders: see compareRuns. */
export async function writeComparison(folder: string, runDirs: readonly string[], options: ComparisonOptions): Promise<ComparisonResult> {
  return compareRuns(folder, await Promise.all(runDirs.map(readRunFolder)), options);
}

/**
 * Writes `<folder>/report.html` (self-contained) and `<folder>/comparison.json`: every run's test
 * metrics with their intervals, runs of one configuration (folds, seeds) summarised as mean and
 * standard deviation with their pooled ROC, overlaid ROC and learning curves, what the runs'
 * parameters differ in, and time and cost where the runs logged them.
 */
export async function compareRuns(outFolder: string, runs: readonly RunSummary[], options: ComparisonOptions): Promise<ComparisonResult> {
  // Resolved once: the plots' paths then mean the same to every reader, wherever the command runs.
  const folder = resolve(outFolder);
  await mkdir(join(folder, 'plots'), { recursive: true });
  // Unfinished runs have no test figures: listed and marked, but no part of any configuration's.
  const groups = groupRuns(runs.filter(isFinished));
  const warnings = comparisonWarnings(runs, groups);
  const repeated = groups.some((g) => g.runs.length > 1);
  const label = (run: RunSummary) => run.name;
  const curves: LabeledPredictions[] = repeated
    ? groups.filter((g) => g.runs.every((r) => r.predictions)).map((g) => pooled(g))
    : runs.filter((r) => r.predictions).map((r) => ({ label: label(r), labels: r.predictions!.labels, probs: r.predictions!.probs }));
  const roc = curves.length ? await plotRocOverlay(curves, join(folder, 'plots', 'roc-overlay')) : undefined;
  const withHistory = runs.filter((r) => r.history.length);
  const learning = withHistory.length ? await plotLearningCurveOverlay(withHistory, label, join(folder, 'plots', 'learning-curves-overlay')) : undefined;
  const summary = summaryMetrics(groups, options.rankBy);
  const differing = differingParams(runs);

  const sections = [
    `<h1>${escapeHtml(options.title)}</h1>`,
    `<p class="note">${runs.length} run${runs.length === 1 ? '' : 's'} compared${repeated ? `, in ${groups.length} configuration${groups.length === 1 ? '' : 's'}` : ''}. `
      + 'Intervals are 95%: Wilson for the proportions, a bootstrap over patients for the AUC. '
      + 'A test set of a few patients moves accuracy by points: compare configurations by their mean over folds or seeds, not by one run.</p>',
    warnings.length ? `<div class="error">${warnings.map((w) => escapeHtml(`warning: ${w}`)).join('\n')}</div>` : '',
    missingSection(options.missing ?? []),
    isStudyComparison(runs) ? studyTableSection(runs) : '',
    repeated ? configurationSection(groups) : '',
    runSection(runs, differing, folder),
    plotSection('ROC curves', [await inlinePng(folder, 'ROC curves', roc?.png)],
      repeated ? 'One curve per configuration: all its runs\' test predictions pooled.' : 'One curve per run, on its own test set.'),
    ...(options.sections ?? []),
    plotSection('Learning curves', [await inlinePng(folder, 'Learning curves', learning?.png)]),
    differing.length ? `<h2>Parameters that differ</h2>${htmlTable(['Run', ...differing], runs.map((r) => [r.name, ...differing.map((k) => r.params[k] ?? '')]))}` : '',
  ];
  const html = reportPage(options.title, sections);
  const report = join(folder, 'report.html');
  await writeFile(report, html);
  await writeFile(join(folder, 'comparison.json'), `${JSON.stringify({
    title: options.title,
    summary,
    configurations: groups.map((g) => ({ label: g.label, runs: g.runs.map((r) => r.source), metrics: g.metrics, pooledAuc: g.pooledAuc })),
    missing: options.missing ?? [],
    warnings,
  }, null, 2)}\n`);
  return { report, summary, warnings };
}

function pooled(group: RunGroupSummary): LabeledPredictions {
  return {
    label: `${group.label} (${group.runs.length} runs pooled)`,
    labels: group.runs.flatMap((r) => Array.from(r.predictions!.labels)),
    probs: group.runs.flatMap((r) => Array.from(r.predictions!.probs)),
  };
}

function missingSection(missing: NonNullable<ComparisonOptions['missing']>): string {
  if (!missing.length) return '';
  return `<h2>Not compared</h2>${htmlTable(['Run', 'Why'], missing.map((m) => [m.name, m.reason]))}`;
}

function configurationSection(groups: readonly RunGroupSummary[]): string {
  const present = COMPARED_METRICS.filter(([key]) => groups.some((g) => g.metrics[key]));
  const rows = groups.map((g) => [
    g.label, String(g.runs.length), ...present.map(([key]) => meanSd(g.metrics[key])), g.pooledAuc === undefined ? '' : formatMetric(g.pooledAuc),
  ]);
  return `<h2>By configuration (mean ± standard deviation over its runs)</h2>
<div class="scroll">${htmlTable(['Configuration', 'Runs', ...present.map(([, name]) => name), 'Pooled AUC'], rows)}</div>`;
}

function runSection(runs: readonly RunSummary[], differing: readonly string[], folder: string): string {
  const shown = differing.filter((key) => key !== 'model').slice(0, 3);
  const hasCost = runs.some((r) => r.metrics[COST_KEYS.costUsd] !== undefined || r.metrics[COST_KEYS.gpuSeconds] !== undefined);
  const headers = ['Run', 'Status', 'Model', ...shown, 'Accuracy', 'Sensitivity', 'Specificity', 'ROC AUC', 'F1', 'Test patients', 'Epochs', 'Time',
    ...(hasCost ? ['GPU time', 'Cost'] : [])];
  const rows = runs.map((r) => {
    const m = r.metrics;
    const cells = [
      r.name, isFinished(r) ? r.status : `${r.status} (unfinished)`, r.params.model ?? '', ...shown.map((key) => r.params[key] ?? ''),
      withInterval(m, 'test_accuracy'), withInterval(m, 'test_recall'),
      withInterval(m, 'test_specificity'), withInterval(m, 'test_auc'),
      m.test_f1 === undefined ? '' : formatMetric(m.test_f1),
      m.test_patients === undefined ? '' : String(m.test_patients),
      String(r.history.length), r.durationSeconds === undefined ? '' : formatDuration(r.durationSeconds),
      ...(hasCost ? [
        m[COST_KEYS.gpuSeconds] === undefined ? '' : formatDuration(m[COST_KEYS.gpuSeconds]),
        m[COST_KEYS.costUsd] === undefined ? '' : `$${m[COST_KEYS.costUsd].toFixed(2)}`,
      ] : []),
    ];
    return isFinished(r) ? cells : { cells, className: 'bad' };
  });
  const links = runs.map((r) => r.source.startsWith('runs:/') ? `<li>${escapeHtml(r.name)}: ${escapeHtml(r.source)}</li>`
    : `<li><a href="${escapeHtml(relative(folder, join(r.source, 'report.html')))}">${escapeHtml(r.name)}</a></li>`);
  return `<h2>Runs (test metrics with 95% intervals)</h2><div class="scroll">${htmlTable(headers, rows)}</div>
<p class="note">Each run's own report:</p><ul>${links.join('')}</ul>`;
}

/** `0.942 (0.931-0.952)`, or the value alone when no interval was logged. */
function withInterval(metrics: Readonly<Record<string, number>>, key: string): string {
  const value = metrics[key];
  if (value === undefined) return '';
  const low = metrics[`${key}_ci_low`];
  const high = metrics[`${key}_ci_high`];
  return low === undefined || high === undefined ? formatMetric(value) : `${formatMetric(value)} (${formatMetric(low)}-${formatMetric(high)})`;
}

function meanSd(value: MetricSpread | undefined): string {
  if (!value) return '';
  return Number.isFinite(value.sd) ? `${formatMetric(value.mean)} ± ${formatMetric(value.sd)}` : formatMetric(value.mean);
}
