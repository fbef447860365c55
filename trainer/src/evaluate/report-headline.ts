import type { RunStatus } from '../tracking/tracker';
import { escapeHtml, formatDuration, formatMetric, formatTime } from './html';
import type { Interval } from './intervals';
import type { ReportData } from './report';
import { championVerdict } from './report-evaluation';

const STATUS_COLORS: Record<RunStatus, string> = { FINISHED: '#1a7f37', KILLED: '#9a6700', FAILED: '#cf222e' };

/**
 * What a reader needs first: the model, the data as given, the settings that matter most, the test
 * figures with their intervals, and, when MLflow has a champion, whether this model takes its place.
 */
export function headline(data: ReportData, record: Readonly<Record<string, number>> | undefined): string {
  const { options, evaluation } = data;
  const run = `<p class="run"><span class="status" style="background:${STATUS_COLORS[data.status]}">${escapeHtml(data.status)}</span>
run <code>${escapeHtml(data.runName)}</code>, started ${escapeHtml(formatTime(data.startTime))}, took ${escapeHtml(formatDuration(data.durationSeconds))}</p>`;
  const best = data.history.length ? data.history.reduce((a, b) => (b.val_loss < a.val_loss ? b : a)).epoch : undefined;
  const settings = [
    data.paramCount === undefined ? '' : `${data.paramCount.toLocaleString('en-US')} parameters`,
    `${options.imageSize}x${options.imageSize} px`,
    options.augment ? 'augmentation' : 'no augmentation',
    options.tta ? 'test-time augmentation' : 'no test-time augmentation',
    `seed ${options.seed}`,
    `${data.history.length} of ${options.epochs} epochs${best === undefined ? '' : ` (best: ${best})`}`,
  ].filter(Boolean);
  const source = data.data.source;
  const short = shortName(source);
  const title = `<h1>${escapeHtml(data.model)} on <code>${escapeHtml(short)}</code></h1>${short === source ? '' : `
<p class="run">data <code>${escapeHtml(source)}</code></p>`}`;
  const verdict = record && data.champion ? championVerdict(record, data.champion) : undefined;
  // The model on its data leads; the run's status, folder and times come after what it is.
  return `<header class="headline">
${title}
<p class="settings">${settings.map(escapeHtml).join(' &middot; ')}</p>
${run}
${evaluation ? testFigures(data) : `<p class="verdict">${escapeHtml(noFigures(data))}</p>`}
${verdict ? `<p class="verdict ${verdict.promote ? 'wins' : 'loses'}">${verdict.html}</p>` : ''}
</header>`;
}

function testFigures(data: ReportData): string {
  const evaluation = data.evaluation!;
  const { metrics: m, intervals } = evaluation;
  const figure = (name: string, value: number, interval: Interval | undefined) => `<div class="figure"><div class="name">${name}</div>`
    + `<div class="value">${formatMetric(value)}</div>`
    + `<div class="interval">${interval ? `${formatMetric(interval.low)} to ${formatMetric(interval.high)}` : 'no interval'}</div></div>`;
  const patients = `${evaluation.patientCount} patient${evaluation.patientCount === 1 ? '' : 's'}`;
  return `<div class="figures">
${figure('Accuracy', m.accuracy, intervals.accuracy)}
${figure('Sensitivity', m.recall, intervals.recall)}
${figure('Specificity', m.specificity, intervals.specificity)}
${figure('ROC AUC', m.auc, intervals.auc)}
</div>
<p class="note">On ${m.count} test cells of ${patients} the model never saw, at threshold ${formatMetric(m.threshold)}, with 95% intervals
(<a href="#test-metrics">how they are computed</a>).</p>`;
}

/** `synthetic:2000` as it is; a URL, zip or folder by its last part (`cell_images.zip`), for the title. */
function shortName(source: string): string {
  if (source.startsWith('synthetic')) return source;
  const trimmed = source.replace(/[/\\]+$/, '');
  return trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1) || source;
}

function noFigures(data: ReportData): string {
  const ran = `${data.history.length} of ${data.options.epochs} epochs`;
  if (data.status === 'FAILED') return `No test figures: the run failed after ${ran} (the error is below).`;
  return `No test figures: the run was stopped after ${ran}, before the test split was evaluated.`;
}
