import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CLASS_NAMES } from '../data/types';
import type { EpochRecord } from '../train/history';
import type { DatasetInput, ParamValue, RunStatus } from '../tracking/tracker';
import { escapeHtml, formatDuration, formatNumber, htmlTable, type TableRow } from './html';
import type { TestMetrics } from './metrics';

/** Everything `report.html` shows; plain values the training code already has at the end of a run. */
export interface ReportData {
  readonly runName: string;
  readonly model: string;
  readonly status: RunStatus;
  /** The TF.js backend that ran, e.g. `wasm (2 threads)`. */
  readonly backend: string;
  /** ISO 8601 start time. */
  readonly startTime: string;
  readonly durationSeconds: number;
  readonly data: {
    /** Where the images came from (URL, zip, folder, synthetic:N). */
    readonly source: string;
    /** `patient` or `cell`. */
    readonly splitMode?: string;
    readonly counts: DatasetInput['counts'];
  };
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly history: readonly EpochRecord[];
  /** Absent when the run stopped before the test split was evaluated. */
  readonly metrics?: TestMetrics;
  /** PNG files (absolute or relative to the run folder), each absent when it was not drawn. */
  readonly plots?: { readonly learningCurves?: string; readonly roc?: string; readonly confusion?: string };
  /** The error message of a FAILED run. */
  readonly error?: string;
}

type ScoreName = 'accuracy' | 'precision' | 'recall' | 'specificity' | 'f1' | 'auc' | 'mcc';

const METRIC_ROWS: readonly [ScoreName, string, string][] = [
  ['accuracy', 'Accuracy', 'share of test images classified correctly'],
  ['precision', 'Precision', `share of images flagged ${CLASS_NAMES[1]} that really are`],
  ['recall', 'Recall (sensitivity)', `share of ${CLASS_NAMES[1]} images that are found`],
  ['specificity', 'Specificity', `share of ${CLASS_NAMES[0]} images that are cleared`],
  ['f1', 'F1', 'harmonic mean of precision and recall'],
  ['auc', 'ROC AUC', 'chance that a parasitized image scores above an uninfected one'],
  ['mcc', 'MCC', 'Matthews correlation, -1 to 1 (0 = chance)'],
];

const STATUS_COLORS: Record<RunStatus, string> = { FINISHED: '#1a7f37', KILLED: '#9a6700', FAILED: '#cf222e' };

const CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: 0.2rem; word-break: break-all; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; margin-top: 2rem; }
.status { display: inline-block; color: white; border-radius: 1rem; padding: 0.1rem 0.8rem; font-weight: 600; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td { font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; }
.error { background: #ffebe9; border: 1px solid #cf222e; padding: 0.8rem; white-space: pre-wrap; font-family: ui-monospace, monospace; }
.plots img { max-width: 100%; height: auto; display: block; margin: 1rem 0; border: 1px solid #d0d7de; }
.note { color: #59636e; }
`;

/** Writes `<runDir>/report.html`: one self-contained file (styles and plots inlined) to open in any browser. */
export async function writeReport(runDir: string, data: ReportData): Promise<string> {
  const file = join(runDir, 'report.html');
  await mkdir(runDir, { recursive: true });
  await writeFile(file, await renderReport(runDir, data));
  return file;
}

async function renderReport(runDir: string, data: ReportData): Promise<string> {
  const sections = [
    header(data),
    data.error ? `<h2>Error</h2><div class="error">${escapeHtml(data.error)}</div>` : '',
    summary(data),
    testMetrics(data.metrics),
    await plots(runDir, data.plots),
    epochs(data.history),
    `<h2>Parameters</h2>${htmlTable(['Parameter', 'Value'], Object.entries(data.params).map(([k, v]) => [k, String(v)]))}`,
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`${data.runName}: ${data.model} run report`)}</title>
<style>${CSS}</style>
</head>
<body>
${sections.filter(Boolean).join('\n')}
</body>
</html>
`;
}

function header(data: ReportData): string {
  return `<h1>${escapeHtml(data.runName)}</h1>
<p><span class="status" style="background:${STATUS_COLORS[data.status]}">${escapeHtml(data.status)}</span>
malaria cell classifier <strong>${escapeHtml(data.model)}</strong></p>`;
}

function summary(data: ReportData): string {
  const { counts } = data.data;
  const total = counts.train + counts.validation + counts.test;
  const rows = [
    ['Model', data.model],
    ['Status', data.status],
    ['Backend', data.backend],
    ['Started', data.startTime],
    ['Duration', formatDuration(data.durationSeconds)],
    ['Epochs run', String(data.history.length)],
    ['Data source', data.data.source],
    ['Split', `${data.data.splitMode ? `${data.data.splitMode} split, ` : ''}${total} images`],
  ];
  const splits = htmlTable(['Split', 'Images', 'Share'], (['train', 'validation', 'test'] as const).map((name) => [
    name,
    String(counts[name]),
    total === 0 ? '-' : `${((100 * counts[name]) / total).toFixed(1)}%`,
  ]));
  return `<h2>Run</h2>${htmlTable([], rows)}\n${splits}`;
}

function testMetrics(metrics: TestMetrics | undefined): string {
  if (!metrics) return '<h2>Test metrics</h2><p class="note">The run stopped before the test split was evaluated.</p>';
  const rows = METRIC_ROWS.map(([key, name, meaning]) => [name, formatNumber(metrics[key]), meaning]);
  const { tp, fp, tn, fn } = metrics.confusion;
  const [negative, positive] = CLASS_NAMES;
  const confusion = htmlTable(
    ['True \\ predicted', negative, positive],
    [
      [negative, `${tn} (TN)`, `${fp} (FP)`],
      [positive, `${fn} (FN)`, `${tp} (TP)`],
    ],
  );
  return `<h2>Test metrics</h2>
<p class="note">${metrics.count} test images; an image is labelled ${escapeHtml(positive)} when P(${escapeHtml(positive)}) &ge; ${formatNumber(metrics.threshold)}.</p>
${htmlTable(['Metric', 'Value', 'Meaning'], rows)}
<h3>Confusion matrix</h3>
${confusion}`;
}

async function plots(runDir: string, files: ReportData['plots']): Promise<string> {
  const entries: [string, string | undefined][] = [
    ['Learning curves', files?.learningCurves],
    ['ROC curve', files?.roc],
    ['Confusion matrix', files?.confusion],
  ];
  const drawn = entries.flatMap(([alt, file]) => (file === undefined ? [] : [[alt, file] as const]));
  if (drawn.length === 0) return '';
  const images = await Promise.all(drawn.map(async ([alt, file]) => {
    const png = await readFile(resolve(runDir, file));
    if (png.toString('latin1', 1, 4) !== 'PNG') throw new Error(`plot ${file} is not a PNG file`);
    // Plots are drawn at twice their size for sharpness; show them at their design size.
    const width = Math.round(png.readUInt32BE(16) / 2);
    return `<img alt="${escapeHtml(alt)}" width="${width}" src="data:image/png;base64,${png.toString('base64')}">`;
  }));
  return `<h2>Plots</h2><div class="plots">${images.join('\n')}</div>`;
}

function epochs(history: readonly EpochRecord[]): string {
  if (history.length === 0) return '<h2>Epochs</h2><p class="note">No epoch finished.</p>';
  const best = history.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
  const rows: TableRow[] = history.map((r) => ({
    className: r === best ? 'best' : undefined,
    cells: [
      String(r.epoch),
      formatNumber(r.loss),
      formatNumber(r.accuracy),
      formatNumber(r.val_loss),
      formatNumber(r.val_accuracy),
      formatNumber(r.learning_rate),
      formatNumber(r.epoch_seconds, 1),
      formatNumber(r.images_per_second, 1),
    ],
  }));
  return `<h2>Epochs</h2>
<p class="note">The highlighted row has the lowest validation loss (epoch ${best.epoch}).</p>
${htmlTable(['Epoch', 'Loss', 'Accuracy', 'Val. loss', 'Val. accuracy', 'Learning rate', 'Seconds', 'Images/s'], rows)}`;
}
