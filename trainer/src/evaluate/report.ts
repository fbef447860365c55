import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackendInfo } from '../backend/select-backend';
import type { TrainConfig } from '../config';
import { CLASS_NAMES, type SplitName } from '../data/types';
import type { EpochRecord } from '../train/history';
import type { DatasetInput, RunStatus } from '../tracking/tracker';
import { evaluationRecord, type Evaluation } from './evaluation';
import type { Gallery } from './gallery';
import { escapeHtml, formatDuration, formatMetric, formatNumber, formatPercent, formatTime, htmlTable, type TableRow } from './html';
import type { SplitComposition } from './patients';
import { calibrationText } from './report-calibration';
import {
  cellGalleries, championSection, patientTable, testMetrics, thresholdSection, type ChampionInReport, type GalleryCell, type LabelErrorCount,
} from './report-evaluation';
import { headline } from './report-headline';
import { optionsHtml, typedOptions } from './report-options';

export type { GalleryCell } from './report-evaluation';

/** PNG files (absolute or relative to the run folder), each absent when it was not drawn. */
export interface ReportPlots {
  readonly learningCurves?: string;
  readonly roc?: string;
  readonly precisionRecall?: string;
  readonly calibration?: string;
  readonly probabilities?: string;
  /** Sensitivity and specificity against the threshold. */
  readonly thresholds?: string;
}

/** Everything `report.html` shows; plain values the training code already has at the end of a run. */
export interface ReportData {
  readonly runName: string;
  readonly model: string;
  readonly status: RunStatus;
  /** The TF.js backend that ran. */
  readonly backend: Pick<BackendInfo, 'name' | 'summary'>;
  /** ISO 8601 start time. */
  readonly startTime: string;
  readonly durationSeconds: number;
  readonly data: {
    /** Where the images came from, as --data resolved it (URL, zip, folder, synthetic:N). */
    readonly source: string;
    /** `patient` or `cell`. */
    readonly splitMode?: string;
    readonly counts: DatasetInput['counts'];
    /** Images and patients per class in each split. */
    readonly composition?: Readonly<Record<SplitName, SplitComposition>>;
    /** LoadedImages.digest and the split's digest. */
    readonly digest?: string;
    readonly splitDigest?: string;
    /** Patients with cells in more than one split (a cell split's). */
    readonly sharedPatients?: number;
    /** Images of the data set that a reused split left out. */
    readonly leftOut?: number;
  };
  /** The options the run trained with. */
  readonly options: TrainConfig;
  readonly paramCount?: number;
  /** The MLflow server the run was logged to, when it was. */
  readonly mlflow?: string;
  readonly history: readonly EpochRecord[];
  /** Absent when the run stopped before the test split was evaluated. */
  readonly evaluation?: Evaluation;
  readonly plots?: ReportPlots;
  /** Test cells to look at: examples, errors, the most uncertain. */
  readonly gallery?: Gallery<GalleryCell>;
  /** Test cells the data set lists as filed under the wrong class. */
  readonly labelErrors?: LabelErrorCount;
  /** The registry's current champion, when MLflow is set and there is one. */
  readonly champion?: ChampionInReport;
  /** The error message of a FAILED run. */
  readonly error?: string;
}

/**
 * One part of a report: a heading a reader can jump to from the contents, and its HTML. A section
 * with an empty body is left out. The run report is a list of these, in reading order; a new kind
 * of evidence is one more function that returns one, put where it belongs in `renderReport`.
 */
export interface ReportSection {
  /** The anchor, `#<id>`. */
  readonly id: string;
  readonly title: string;
  readonly body: string;
}

/** The reports' one style sheet (the run report, the comparison). */
const REPORT_CSS = `
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #1f2328; }
h1 { margin: 0.3rem 0 0.2rem; word-break: break-word; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.3rem; margin-top: 2rem; }
.status { display: inline-block; color: white; border-radius: 1rem; padding: 0.1rem 0.8rem; font-weight: 600; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3rem 0.7rem; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
td { font-variant-numeric: tabular-nums; }
tr.best td { background: #dafbe1; }
tr.bad td { background: #fff1e5; }
tr.changed td:first-child { font-weight: 600; }
td.option { white-space: nowrap; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 0.6rem 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
.error { background: #ffebe9; border: 1px solid #cf222e; padding: 0.8rem; white-space: pre-wrap; font-family: ui-monospace, monospace; }
.plots { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.plots img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; border: 1px solid #d0d7de; }
.note { color: #59636e; }
.scroll { overflow-x: auto; }
.scroll td { white-space: nowrap; }
nav.contents { font-size: 0.9rem; margin: 1rem 0; line-height: 1.7; }
nav.contents a { color: #0969da; text-decoration: none; margin-right: 1rem; white-space: nowrap; }
.headline .run { color: #59636e; margin: 0 0 0.6rem; }
.headline .settings { margin: 0.2rem 0; font-size: 1.05rem; }
.figures { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 0.6rem 0; }
.figure { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 0.9rem; min-width: 9rem; }
.figure .name { color: #59636e; font-size: 0.85rem; }
.figure .value { font-size: 1.7rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .interval { color: #59636e; font-size: 0.85rem; font-variant-numeric: tabular-nums; }
.verdict { border-left: 4px solid #59636e; background: #f6f8fa; padding: 0.5rem 0.9rem; margin: 0.8rem 0; }
.verdict.wins { border-color: #1a7f37; background: #dafbe1; }
.verdict.loses { border-color: #9a6700; background: #fff8c5; }
.cells { display: flex; flex-wrap: wrap; gap: 0.6rem; margin: 0.5rem 0 1rem; }
.cells figure { margin: 0; width: 132px; font-size: 0.72rem; line-height: 1.3; }
.cells img { width: 104px; height: 104px; display: block; border: 3px solid #d0d7de; border-radius: 3px; box-sizing: border-box; margin: 3px 0 6px 3px; }
.cells .wrong img { border-color: #cf222e; }
.cells .right img { border-color: #1a7f37; }
.cells .known-label-error img { outline: 2px dashed #8250df; outline-offset: 1px; }
.cells figcaption { color: #59636e; margin-top: 0.2rem; }
.cells figcaption b { color: #1f2328; }
.cells .file { font-family: ui-monospace, monospace; font-size: 0.68rem; }
.cells .flag { color: #8250df; font-weight: 600; }
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

/**
 * The run report, top-down: the headline (model, data, settings, test figures, the verdict against
 * the champion), then the evidence (the champion's figures, test metrics, threshold, curves,
 * calibration, training), then the detail (data, options, per patient, the cells themselves).
 */
async function renderReport(runDir: string, data: ReportData): Promise<string> {
  const plot = (alt: string, file: string | undefined) => inlinePng(runDir, alt, file);
  const { plots = {}, evaluation } = data;
  const record = evaluation && evaluationRecord(evaluation);
  const sections = [
    headline(data, record),
    data.error ? { id: 'error', title: 'Error', body: `<div class="error">${escapeHtml(data.error)}</div>` } : undefined,
    record ? championSection(record, data.champion) : undefined,
    evaluation ? testMetrics(evaluation, data.labelErrors) : undefined,
    evaluation ? thresholdSection(evaluation, await plot('Sensitivity and specificity against the threshold', plots.thresholds)) : undefined,
    evaluation ? plotsSection('curves', 'ROC and precision-recall curves', [
      await plot('ROC curve', plots.roc), await plot('Precision-recall curve', plots.precisionRecall),
    ], `<p class="note">The red dot is the decision threshold (${formatMetric(evaluation.metrics.threshold)}); the dashed lines are what guessing achieves.</p>`) : undefined,
    evaluation ? plotsSection('calibration', 'Calibration', [
      await plot('Reliability diagram', plots.calibration), await plot('Predicted probabilities per class', plots.probabilities),
    ], calibrationText(evaluation.calibration)) : undefined,
    trainingSection(data.history, await plot('Learning curves', plots.learningCurves), validationNote(data.options)),
    dataSection(data.data),
    optionsSection(data),
    runSection(data),
    evaluation ? patientTable(evaluation) : undefined,
    data.gallery ? cellGalleries(data.gallery, evaluation?.metrics.threshold) : undefined,
  ];
  return reportPage(`${data.model} on ${data.data.source}: ${data.runName}`, sections);
}

/**
 * A self-contained page in the reports' style: the title, and the parts that are not empty. Plain
 * HTML parts go in as they are; sections get their heading and anchor, and a line of contents
 * before the first of them.
 */
export function reportPage(title: string, parts: readonly (string | ReportSection | undefined)[]): string {
  const sections = parts.filter((part): part is ReportSection => typeof part === 'object' && part.body !== '');
  const contents = sections.length > 2
    ? `<nav class="contents">${sections.map((s) => `<a href="#${escapeHtml(s.id)}">${escapeHtml(s.title)}</a>`).join(' ')}</nav>`
    : '';
  let contentsPlaced = false;
  const body = parts.map((part) => {
    if (part === undefined || part === '' || (typeof part === 'object' && part.body === '')) return '';
    if (typeof part === 'string') return part;
    const before = contentsPlaced ? '' : contents;
    contentsPlaced = true;
    return `${before}<section id="${escapeHtml(part.id)}"><h2>${escapeHtml(part.title)}</h2>\n${part.body}</section>`;
  });
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
${body.filter(Boolean).join('\n')}
</body>
</html>
`;
}

/** A section of text and the plots drawn for it, side by side. */
function plotsSection(id: string, title: string, images: readonly string[], text: string): ReportSection {
  const drawn = images.filter(Boolean);
  return { id, title, body: `${text}${drawn.length ? `<div class="plots">${drawn.join('\n')}</div>` : ''}` };
}

/** A heading, a note and plots side by side, as plain HTML (the comparison's sections); '' when none was drawn. */
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

function dataSection(data: ReportData['data']): ReportSection {
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
  const shared = data.sharedPatients === undefined ? 'one patient\'s cells can be in several splits'
    : `${data.sharedPatients} patient${data.sharedPatients === 1 ? ' has' : 's have'} cells in more than one split`;
  const how = data.splitMode === 'patient'
    ? 'split by patient: no patient has cells in two splits'
    : data.splitMode === 'cell' ? `split cell by cell: ${shared}` : 'split';
  const leftOut = data.leftOut ? ` The split, reused with <code>--split-from</code>, left out ${data.leftOut} more images of the data set.` : '';
  return {
    id: 'data',
    title: 'Data',
    body: `<p>${total} images from <code>${escapeHtml(data.source)}</code>, ${escapeHtml(how)}.${leftOut}
A patient can have cells of both classes, so the patients per class can add up to more than the patients.</p>
${table}`,
  };
}

/** A learning rate as people write it: 0.001, 0.0003, 1e-7 (three significant digits). */
function formatRate(rate: number): string {
  return String(Number(rate.toPrecision(3)));
}

/** How validation was scored, beside how the saved model is used: what chose the best epoch. */
function validationNote(options: ReportData['options']): string {
  if (options.tta !== true) return 'Validation is scored on each image as it is, as the saved model is used (no test-time augmentation).';
  if (options.validateWithTta === true) {
    return 'Validation is scored with test-time augmentation (each image under its 8 flips and rotations), as the saved model is used.';
  }
  return 'Validation is scored on each image as it is, while the saved model is used with test-time augmentation (the threshold, '
    + 'the test figures and the model server score each image under its 8 flips and rotations): the epoch is chosen on a close, '
    + 'not identical, loss. <code>--validate-with-tta</code> chooses it on the loss as used, for about 40% more time per epoch on a CPU.';
}

/** The learning curves and every epoch's figures. */
function trainingSection(history: readonly EpochRecord[], curves: string, validation: string): ReportSection {
  if (history.length === 0) return { id: 'training', title: 'Training', body: '<p class="note">No epoch finished.</p>' };
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
  return {
    id: 'training',
    title: 'Training',
    body: `${curves ? `<div class="plots">${curves}</div>` : ''}
<p class="note">The highlighted row has the lowest validation loss (epoch ${best.epoch}): the saved model is that epoch's.
${validation}</p>
${htmlTable(['Epoch', 'Loss', 'Accuracy', 'Val. loss', 'Val. accuracy', 'Learning rate', 'Seconds', 'Images/s'], rows)}`,
  };
}

function optionsSection(data: ReportData): ReportSection {
  const rows = typedOptions(data.options, { data: data.data.source, backend: data.backend.name, tracked: data.mlflow !== undefined });
  return { id: 'options', title: 'Options', body: optionsHtml(rows) };
}

/** Where and how long it ran, and the digests that tell whether two runs saw the same data. */
function runSection(data: ReportData): ReportSection {
  const rows = [
    ['Run', data.runName],
    ['Status', data.status],
    ['Started', formatTime(data.startTime)],
    ['Duration', formatDuration(data.durationSeconds)],
    ['Backend', data.backend.summary],
    ...(data.mlflow ? [['MLflow', data.mlflow]] : []),
    ...(data.paramCount === undefined ? [] : [['Model parameters', data.paramCount.toLocaleString('en-US')]]),
    ...(data.data.digest ? [['Data digest (SHA-256 of the images used)', data.data.digest]] : []),
    ...(data.data.splitDigest ? [['Split digest (equal for equal splits)', data.data.splitDigest]] : []),
  ];
  return { id: 'run', title: 'Run', body: htmlTable([], rows) };
}
