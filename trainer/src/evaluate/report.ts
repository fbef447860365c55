import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CLASS_NAMES, type SplitName } from '../data/types';
import type { EpochRecord } from '../train/history';
import type { DatasetInput, ParamValue, RunStatus } from '../tracking/tracker';
import { evaluationRecord, type Evaluation } from './evaluation';
import type { Gallery } from './gallery';
import { escapeHtml, formatDuration, formatMetric, formatNumber, formatPercent, htmlTable, type TableRow } from './html';
import type { SplitComposition } from './patients';
import { cellGalleries, championSection, patientTable, testMetrics, type ChampionInReport, type GalleryCell } from './report-evaluation';

export type { GalleryCell } from './report-evaluation';

/** PNG files (absolute or relative to the run folder), each absent when it was not drawn. */
export interface ReportPlots {
  readonly learningCurves?: string;
  readonly roc?: string;
  readonly precisionRecall?: string;
  readonly calibration?: string;
  readonly probabilities?: string;
  readonly confusion?: string;
}

/** Everything `report.html` shows; plain values the training code already has at the end of a run. */
export interface ReportData {
  readonly runName: string;
  readonly model: string;
  readonly status: RunStatus;
  /** The TF.js backend that ran, in a few words, e.g. `wasm (SIMD, 2 threads)`. */
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
    /** Images and patients per class in each split. */
    readonly composition?: Readonly<Record<SplitName, SplitComposition>>;
  };
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly history: readonly EpochRecord[];
  /** Absent when the run stopped before the test split was evaluated. */
  readonly evaluation?: Evaluation;
  readonly plots?: ReportPlots;
  /** Test cells to look at: examples, errors, the most uncertain. */
  readonly gallery?: Gallery<GalleryCell>;
  /** The registry's current champion, when MLflow is set and there is one. */
  readonly champion?: ChampionInReport;
  /** The error message of a FAILED run. */
  readonly error?: string;
}

const STATUS_COLORS: Record<RunStatus, string> = { FINISHED: '#1a7f37', KILLED: '#9a6700', FAILED: '#cf222e' };

/** The reports' one style sheet (the run report, the comparison). */
const REPORT_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }
h1 { margin-bottom: 0.2rem; word-break: break-all; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; margin-top: 2rem; }
.status { display: inline-block; color: white; border-radius: 1rem; padding: 0.1rem 0.8rem; font-weight: 600; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td { font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; }
tr.bad td { background: #fff1e5; }
.error { background: #ffebe9; border: 1px solid #cf222e; padding: 0.8rem; white-space: pre-wrap; font-family: ui-monospace, monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.plots img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; border: 1px solid #d0d7de; }
.note { color: #59636e; }
.scroll { overflow-x: auto; }
.scroll td { white-space: nowrap; }
.cells { display: flex; flex-wrap: wrap; gap: 0.6rem; margin: 0.5rem 0 1rem; }
.cells figure { margin: 0; width: 104px; font-size: 0.72rem; line-height: 1.25; }
.cells img { width: 104px; height: 104px; display: block; border: 3px solid #d0d7de; border-radius: 3px; box-sizing: border-box; }
.cells .wrong img { border-color: #cf222e; }
.cells .right img { border-color: #1a7f37; }
.cells figcaption { overflow-wrap: anywhere; color: #59636e; }
.cells figcaption b { color: #1f2328; }
.cells figure.explained { width: 212px; }
.cells figure.explained img { display: inline-block; margin-right: 4px; }
`;

/** Writes `<runDir>/report.html`: one self-contained file (styles, plots and cell images inlined) to open in any browser. */
export async function writeReport(runDir: string, data: ReportData): Promise<string> {
  const file = join(runDir, 'report.html');
  await mkdir(runDir, { recursive: true });
  await writeFile(file, await renderReport(runDir, data));
  return file;
}

async function renderReport(runDir: string, data: ReportData): Promise<string> {
  const plot = (alt: string, file: string | undefined) => inlinePng(runDir, alt, file);
  const { plots = {}, evaluation } = data;
  const sections = [
    header(data),
    data.error ? `<h2>Error</h2><div class="error">${escapeHtml(data.error)}</div>` : '',
    summary(data),
    dataSection(data.data),
    testMetrics(evaluation),
    evaluation ? championSection(evaluationRecord(evaluation), data.champion) : '',
    evaluation ? plotSection('ROC and precision-recall curves', [
      await plot('ROC curve', plots.roc), await plot('Precision-recall curve', plots.precisionRecall),
    ], `The red dot is the decision threshold (${formatMetric(evaluation.metrics.threshold)}); the dashed lines are what guessing achieves.`) : '',
    evaluation ? plotSection('Calibration', [
      await plot('Reliability diagram', plots.calibration), await plot('Predicted probabilities per class', plots.probabilities),
    ], calibrationNote(evaluation)) : '',
    evaluation ? plotSection('Confusion matrix', [await plot('Confusion matrix', plots.confusion)]) : '',
    evaluation ? patientTable(evaluation) : '',
    data.gallery ? cellGalleries(data.gallery, evaluation?.metrics.threshold) : '',
    plotSection('Learning curves', [await plot('Learning curves', plots.learningCurves)]),
    epochs(data.history),
    `<h2>Parameters</h2>${htmlTable(['Parameter', 'Value'], Object.entries(data.params).map(([k, v]) => [k, String(v)]))}`,
  ];
  return reportPage(`${data.runName}: ${data.model} run report`, sections);
}

/** A self-contained page in the reports' style: the title, and the sections that are not empty. */
export function reportPage(title: string, sections: readonly string[]): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
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
  const rows = [
    ['Model', data.model],
    ['Status', data.status],
    ['Backend', data.backend],
    ['Started', data.startTime],
    ['Duration', formatDuration(data.durationSeconds)],
    ['Epochs run', String(data.history.length)],
  ];
  return `<h2>Run</h2>${htmlTable([], rows)}`;
}

function dataSection(data: ReportData['data']): string {
  const { counts, composition } = data;
  const total = counts.train + counts.validation + counts.test;
  const splits = ['train', 'validation', 'test'] as const;
  const share = (n: number) => (total === 0 ? '-' : formatPercent(n / total));
  const [negative, positive] = CLASS_NAMES;
  const table = composition
    ? htmlTable(
      ['Split', 'Images', `${negative} images`, `${positive} images`, 'Share of all images', 'Patients', `Patients with ${negative} cells`, `Patients with ${positive} cells`],
      splits.map((name) => {
        const c = composition[name];
        return [name, String(counts[name]), String(c.images[0]), String(c.images[1]), share(counts[name]),
          String(c.patientCount), String(c.patients[0]), String(c.patients[1])];
      }),
    )
    : htmlTable(['Split', 'Images', 'Share of all images'], splits.map((name) => [name, String(counts[name]), share(counts[name])]));
  const how = data.splitMode === 'patient'
    ? 'split by patient: no patient has cells in two splits'
    : data.splitMode === 'cell' ? 'split cell by cell: one patient\'s cells can be in several splits' : 'split';
  return `<h2>Data</h2>
<p>${total} images from <code>${escapeHtml(data.source)}</code>, ${escapeHtml(how)}.
A patient can have cells of both classes, so the patients per class can add up to more than the patients.</p>
${table}`;
}

function calibrationNote(evaluation: Evaluation): string {
  const { brier, ece } = evaluation.calibration;
  return `Left: test images binned by predicted P(${CLASS_NAMES[1]}); a calibrated model's points lie on the diagonal, and a point
below it means the model is more sure than it should be. Brier score ${formatMetric(brier)} (mean squared error of the
probability; 0 is perfect, 0.25 is always saying 0.5); expected calibration error ${formatMetric(ece)} (the gap between
predicted and observed, averaged over images). Right: how each true class's probabilities spread, with the threshold dashed.`;
}

export function plotSection(title: string, images: readonly string[], note?: string): string {
  const drawn = images.filter(Boolean);
  if (drawn.length === 0) return '';
  return `<h2>${escapeHtml(title)}</h2>${note ? `<p class="note">${note}</p>` : ''}<div class="plots">${drawn.join('\n')}</div>`;
}

/** The PNG as an inline image at its design size (it is drawn at twice that), or '' when it was not drawn. */
export async function inlinePng(runDir: string, alt: string, file: string | undefined): Promise<string> {
  if (file === undefined) return '';
  const png = await readFile(resolve(runDir, file));
  if (png.toString('latin1', 1, 4) !== 'PNG') throw new Error(`plot ${file} is not a PNG file`);
  const width = Math.round(png.readUInt32BE(16) / 2);
  return `<img alt="${escapeHtml(alt)}" width="${width}" src="data:image/png;base64,${png.toString('base64')}">`;
}

/** A learning rate as people write it: 0.001, 0.0003, 1e-7 (three significant digits). */
function formatRate(rate: number): string {
  return String(Number(rate.toPrecision(3)));
}

function epochs(history: readonly EpochRecord[]): string {
  if (history.length === 0) return '<h2>Epochs</h2><p class="note">No epoch finished.</p>';
  const best = history.reduce((a, b) => (b.val_loss < a.val_loss ? b : a));
  const rows: TableRow[] = history.map((r) => ({
    className: r === best ? 'best' : undefined,
    cells: [
      String(r.epoch),
      formatMetric(r.loss),
      formatMetric(r.accuracy),
      formatMetric(r.val_loss),
      formatMetric(r.val_accuracy),
      formatRate(r.learning_rate),
      formatNumber(r.epoch_seconds, 1),
      formatNumber(r.images_per_second, 0),
    ],
  }));
  return `<h2>Epochs</h2>
<p class="note">The highlighted row has the lowest validation loss (epoch ${best.epoch}): the saved model is that epoch's.</p>
${htmlTable(['Epoch', 'Loss', 'Accuracy', 'Val. loss', 'Val. accuracy', 'Learning rate', 'Seconds', 'Images/s'], rows)}`;
}
