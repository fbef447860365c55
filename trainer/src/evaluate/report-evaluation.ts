import { LABEL_ERRORS_FILE } from '../data/label-errors';
import { CLASS_NAMES } from '../data/types';
import { decideChampion } from '../tracking/mlflow/champion';
import type { Evaluation } from './evaluation';
import { higherIsBetter } from './metric-directions';
import type { Gallery } from './gallery';
import { escapeHtml, formatMetric, formatMetricPair, formatPercent, htmlTable, type TableRow } from './html';
import type { BootstrapInterval, Interval } from './intervals';
import type { ReportSection } from './report';

/** One test cell of the report's galleries. */
export interface GalleryCell {
  /** Path inside the data set, e.g. `Parasitized/C33P1thinF_IMG_20150619_114756a_cell_179.png`. */
  readonly file: string;
  readonly patient: string;
  /** True label: 1 = positive. */
  readonly label: number;
  /** Predicted P(positive). */
  readonly probability: number;
  /** The image as the model saw it. */
  readonly png: Buffer;
  /** The same with its activation map laid over it: where the model found evidence for the positive class. */
  readonly activationMap?: Buffer;
  /** The data set lists it as filed under the wrong class (LABEL_ERRORS_FILE). */
  readonly knownLabelError?: boolean;
}

/** The test cells the data set lists as filed under the wrong class, and on how many the model disagreed with the label. */
export interface LabelErrorCount {
  readonly listed: number;
  readonly disagreed: number;
}

/** Patients shown in the per-patient table; the rest are summed up in a line. */
const MAX_PATIENT_ROWS = 60;

type ScoreRow = readonly [label: string, value: number, interval: Interval | undefined, meaning: string];

/** Test metrics with their 95% intervals, what they rest on, and the cells whose labels are known to be wrong. */
export function testMetrics(evaluation: Evaluation, labelErrors?: LabelErrorCount): ReportSection {
  const section = (body: string) => ({ id: 'test-metrics', title: 'Test metrics', body });
  const { metrics: m, intervals, calibration } = evaluation;
  const [negative, positive] = CLASS_NAMES;
  const rows: ScoreRow[] = [
    ['Accuracy', m.accuracy, intervals.accuracy, 'share of test images classified correctly'],
    ['Sensitivity (recall)', m.recall, intervals.recall, `share of ${positive} images that are found`],
    ['Specificity', m.specificity, intervals.specificity, `share of ${negative} images that are cleared`],
    ['Precision', m.precision, undefined, `share of images flagged ${positive} that really are`],
    ['F1', m.f1, undefined, 'harmonic mean of precision and sensitivity'],
    ['ROC AUC', m.auc, intervals.auc, `chance that a ${positive} image scores above an ${negative} one`],
    ['Average precision', evaluation.averagePrecision, undefined, 'area under the precision-recall curve'],
    ['MCC', m.mcc, undefined, 'Matthews correlation, -1 to 1 (0 = chance)'],
    ['Brier score', calibration.brier, undefined, 'mean squared error of the probability (lower is better)'],
    ['Expected calibration error', calibration.ece, undefined, 'gap between predicted and observed probability (lower is better)'],
  ];
  const table = htmlTable(['Metric', 'Value', '95% interval', 'Meaning'], rows.map(([label, value, interval, meaning]) => [
    label, formatMetric(value), interval ? `${formatMetric(interval.low)} to ${formatMetric(interval.high)}` : '', meaning,
  ]));
  const { tp, fp, tn, fn } = m.confusion;
  const auc = intervals.auc;
  const patients = `${evaluation.patientCount} patient${evaluation.patientCount === 1 ? '' : 's'}`;
  return section(`<p>${m.count} test images (${tp + fn} ${escapeHtml(positive)}, ${tn + fp} ${escapeHtml(negative)}) from <strong>${patients}</strong>:
the figures rest on these. An image is labelled ${escapeHtml(positive)} when P(${escapeHtml(positive)}) &ge; ${formatMetric(m.threshold)}.</p>
${table}
<p class="note">The accuracy, sensitivity and specificity intervals are Wilson score intervals, which treat cells as
independent; cells of one patient are not, so the true uncertainty is larger. ${auc
    ? `The AUC interval resamples patients, not cells (percentile bootstrap over ${aucResamples(auc)} of the ${auc.patients} test patients, seed ${evaluation.seed}).`
    : 'The AUC interval is missing: no resample of the test patients held both classes.'}
With few test patients every interval is wide; cross-validation gives a steadier estimate.</p>
${labelErrors?.listed ? `<p>${labelErrorsText(labelErrors, fp + fn)}</p>` : ''}`);
}

function labelErrorsText({ listed, disagreed }: LabelErrorCount, errors: number): string {
  const cells = `${listed} test cell${listed === 1 ? '' : 's'}`;
  return `${cells} ${listed === 1 ? 'is' : 'are'} filed under the wrong class, as the data set's <code>${LABEL_ERRORS_FILE}</code> says.
The figures take the labels as they are, so ${disagreed} of the ${errors} errors they count are cells where the model
disagreed with a wrong label: the label's errors, not the model's. They are marked in the cell galleries below.`;
}

/** How the threshold was chosen, what it gives against every other threshold, and the confusion matrix it makes. */
export function thresholdSection(evaluation: Evaluation, curve: string): ReportSection {
  const { tp, fp, tn, fn } = evaluation.metrics.confusion;
  const [negative, positive] = CLASS_NAMES;
  const ofClass = (n: number, total: number) => `${n} (${formatPercent(total ? n / total : 0)} of ${total})`;
  const confusion = htmlTable(
    ['True \\ predicted', negative, positive],
    [
      [negative, `${ofClass(tn, tn + fp)} TN`, `${ofClass(fp, tn + fp)} FP`],
      [positive, `${ofClass(fn, tp + fn)} FN`, `${ofClass(tp, tp + fn)} TP`],
    ],
  );
  return {
    id: 'threshold',
    title: 'Decision threshold',
    body: `<p>${thresholdText(evaluation)}</p>
<div class="plots">${curve}
<div><h3>Confusion matrix at the threshold</h3>
<p class="note">Test images; percentages are of the true class (the row).</p>
${confusion}</div></div>`,
  };
}

function aucResamples(auc: BootstrapInterval): string {
  const count = (n: number) => n.toLocaleString('en-US');
  return auc.resamples === auc.drawn
    ? `${count(auc.resamples)} resamples`
    : `${count(auc.resamples)} resamples (those of ${count(auc.drawn)} that held both classes)`;
}

function thresholdText(evaluation: Evaluation): string {
  const { threshold: choice, metrics: m } = evaluation;
  const v = choice.validation;
  const onValidation = v ? ` On the validation split (${v.count} images) it gives sensitivity ${formatMetric(v.sensitivity)} and specificity ${formatMetric(v.specificity)};` : '';
  const onTest = ` on test, sensitivity ${formatMetric(m.recall)} and specificity ${formatMetric(m.specificity)}.`;
  const target = choice.target;
  const option = target && `<code>--threshold-for ${target.metric}=${target.value}</code>`;
  const rule = !target
    ? `${formatMetric(choice.threshold)}, the default (<code>--threshold-for sensitivity=0.95</code> or <code>specificity=...</code> picks one on the validation split).`
    : choice.warning
      ? `${formatMetric(choice.threshold)}, chosen on the validation split (never on test) for ${option}. <strong>Warning:</strong> ${escapeHtml(choice.warning)}.`
      : `${formatMetric(choice.threshold)}, chosen on the validation split (never on test) as the ${target.metric === 'sensitivity' ? 'highest' : 'lowest'} threshold with ${target.metric} &ge; ${target.value} (${option}).`;
  return `Threshold ${rule}${onValidation}${onTest} The saved model's <code>preprocessing.json</code> holds it, so the model server labels images the same way.`;
}

/** Accuracy and errors per test patient, worst first. */
export function patientTable(evaluation: Evaluation): ReportSection {
  const [negative, positive] = CLASS_NAMES;
  const shown = evaluation.patients.slice(0, MAX_PATIENT_ROWS);
  const rows: TableRow[] = shown.map((p) => ({
    className: p.falseNegatives + p.falsePositives > 0 && p.accuracy < evaluation.metrics.accuracy ? 'bad' : undefined,
    cells: [p.patient, String(p.images), String(p.byClass[1]), String(p.byClass[0]), String(p.falseNegatives), String(p.falsePositives), formatMetric(p.accuracy)],
  }));
  const rest = evaluation.patients.length - shown.length;
  return {
    id: 'patients',
    title: 'Per patient',
    body: `<p class="note">Each test patient's cells at the threshold, worst accuracy first; highlighted rows are below the overall
accuracy (${formatMetric(evaluation.metrics.accuracy)}). A model that fails on some patients (a stain, a microscope) fails there in use too.</p>
${htmlTable(['Patient', 'Images', `${positive} images`, `${negative} images`, 'Missed parasites (FN)', 'False alarms (FP)', 'Accuracy'], rows)}
${rest > 0 ? `<p class="note">${rest} more patients, all with accuracy ${formatMetric(shown[shown.length - 1].accuracy)} or better.</p>` : ''}`,
  };
}

/** Test cells with their probability and file: the errors (missed parasites first), the most uncertain, examples per class. */
export function cellGalleries(gallery: Gallery<GalleryCell>, threshold: number | undefined): ReportSection {
  const [negative, positive] = CLASS_NAMES;
  const { falseNegatives, falsePositives } = gallery.errorCounts;
  const showing = (shown: number, all: number) => (shown < all ? `: the ${shown} most confidently wrong of ${all}` : `: ${all}`);
  const all = [gallery.falseNegatives, gallery.falsePositives, gallery.uncertain, ...gallery.examples].flat();
  const flagged = all.some((cell) => cell.knownLabelError);
  const parts = [
    `<p class="note">Each cell as the model saw it, with its predicted P(${escapeHtml(positive)}) and file (patient first). A green frame is
a correct call at the threshold${threshold === undefined ? '' : ` (${formatMetric(threshold)})`}, a red frame a wrong one.${flagged
      ? ` A dashed purple outline and <span class="flag">label known wrong</span> mark a cell the data set lists as filed under the
wrong class (<code>${LABEL_ERRORS_FILE}</code>): a red frame there means the model is right and the label is not.` : ''}</p>`,
    gallery.activationMaps ? activationMapNote(gallery.activationMaps) : '',
    `<h3>Missed parasites: ${positive} cells labelled ${negative} (false negatives${showing(gallery.falseNegatives.length, falseNegatives)})</h3>`,
    cellGrid(gallery.falseNegatives, threshold, falseNegatives ? '' : 'None: every parasitized test cell was found.'),
    `<h3>False alarms: ${negative} cells labelled ${positive} (false positives${showing(gallery.falsePositives.length, falsePositives)})</h3>`,
    cellGrid(gallery.falsePositives, threshold, falsePositives ? '' : 'None.'),
    `<h3>Most uncertain: closest to the threshold</h3>`,
    cellGrid(gallery.uncertain, threshold, '', true),
    `<h3>Examples: ${positive}</h3>`,
    cellGrid(gallery.examples[1], threshold, 'No test cells of this class.'),
    `<h3>Examples: ${negative}</h3>`,
    cellGrid(gallery.examples[0], threshold, 'No test cells of this class.'),
  ];
  return { id: 'cells', title: 'Test cells', body: parts.join('\n') };
}

/**
 * Cells as figures: the image, framed by whether the call was right, with P and the file name,
 * which may break only after an underscore, so it wraps whole and readable in a narrow caption.
 */
export function cellGrid(cells: readonly GalleryCell[], threshold: number | undefined, empty: string, showTruth = false): string {
  if (cells.length === 0) return empty ? `<p class="note">${escapeHtml(empty)}</p>` : '';
  const figures = cells.map((cell) => {
    const correct = threshold === undefined ? undefined : (cell.probability >= threshold ? 1 : 0) === cell.label;
    const classes = [
      correct === undefined ? '' : correct ? 'right' : 'wrong', cell.knownLabelError ? 'known-label-error' : '', cell.activationMap ? 'explained' : '',
    ].filter(Boolean);
    const name = cell.file.slice(cell.file.lastIndexOf('/') + 1);
    const patient = name.startsWith(cell.patient) ? '' : `<br>${escapeHtml(cell.patient)}`;
    const truth = showTruth ? `<br>labelled ${escapeHtml(CLASS_NAMES[cell.label])}` : '';
    const flag = cell.knownLabelError ? '<br><span class="flag">label known wrong</span>' : '';
    const map = cell.activationMap
      ? `<img alt="where the model looks: ${escapeHtml(name)}" title="activation map" src="data:image/png;base64,${cell.activationMap.toString('base64')}">` : '';
    return `<figure${classes.length ? ` class="${classes.join(' ')}"` : ''}><img alt="${escapeHtml(cell.file)}" title="${escapeHtml(cell.file)}" src="data:image/png;base64,${cell.png.toString('base64')}">${map}`
      + `<figcaption><b>P ${formatMetric(cell.probability)}</b>${truth}${flag}${patient}<br><span class="file">${breakableName(name)}</span></figcaption></figure>`;
  });
  return `<div class="cells">${figures.join('')}</div>`;
}

/** `C33P1thinF_IMG_2015_cell_7.png` with a line-break opportunity after each underscore, escaped. */
function breakableName(name: string): string {
  return name.split('_').map(escapeHtml).join('_<wbr>');
}

function activationMapNote(description: string): string {
  return `<p class="note">Beside each missed parasite, false alarm and uncertain cell: where the model found evidence for
${escapeHtml(CLASS_NAMES[1])}, yellow the strongest (${escapeHtml(description)}; of the upright cell, while P averages its
test-time views when the run used them).</p>`;
}

/** The registry's current champion as the report sets it beside the new model. */
export interface ChampionInReport {
  readonly modelName: string;
  readonly alias: string;
  readonly version: string;
  readonly runName: string;
  readonly metrics: Readonly<Record<string, number>>;
  /** The metric that decides whether the new model takes the alias, e.g. `test_auc`. */
  readonly decidingMetric: string;
}

const CHAMPION_ROWS: readonly (readonly [key: string, label: string])[] = [
  ['test_accuracy', 'Accuracy'], ['test_recall', 'Sensitivity'], ['test_specificity', 'Specificity'], ['test_auc', 'ROC AUC'],
  ['test_f1', 'F1'], ['test_brier', 'Brier score'], ['test_patients', 'Test patients'],
];

/** Whether this run's model takes the alias, by the rule the registration applies, in a sentence. */
export function championVerdict(record: Readonly<Record<string, number>>, champion: ChampionInReport): { promote: boolean; html: string } {
  const metric = champion.decidingMetric;
  const [mine, theirs] = [record[metric], champion.metrics[metric]];
  const { promote } = decideChampion(metric, mine, theirs);
  const who = `<code>${escapeHtml(champion.modelName)}@${escapeHtml(champion.alias)}</code> (version ${escapeHtml(champion.version)}, run ${escapeHtml(champion.runName)})`;
  if (mine === undefined || theirs === undefined) {
    return { promote, html: promote ? `<strong>Takes the alias</strong> from ${who}: the champion has no ${escapeHtml(metric)}.` : `<strong>Does not take the alias</strong> from ${who}: this run has no ${escapeHtml(metric)}.` };
  }
  const [a, b] = formatMetricPair(mine, theirs);
  return {
    promote,
    html: `${promote ? '<strong>Takes the alias</strong>' : '<strong>Does not take the alias</strong>'} from ${who}: its ${escapeHtml(metric)} ${a}
${promote ? 'beats' : 'does not beat'} the champion's ${b}. <a href="#champion">Both side by side</a>: they were tested on different patients unless they share a split.`,
  };
}

/** This run's test metrics beside the champion's, and which one the alias rule looks at. */
export function championSection(record: Readonly<Record<string, number>>, champion: ChampionInReport | undefined): ReportSection | undefined {
  if (!champion) return undefined;
  const show = (value: number | undefined, key: string) => (value === undefined ? '' : key === 'test_patients' ? String(value) : formatMetric(value));
  const rows = CHAMPION_ROWS.filter(([key]) => record[key] !== undefined || champion.metrics[key] !== undefined)
    .map(([key, label]) => [label, show(record[key], key), show(champion.metrics[key], key)]);
  return {
    id: 'champion',
    title: 'Against the current champion',
    body: `<p>The registry's <code>${escapeHtml(champion.modelName)}@${escapeHtml(champion.alias)}</code> is version ${escapeHtml(champion.version)},
from run ${escapeHtml(champion.runName)}. This model takes the alias only if its ${escapeHtml(champion.decidingMetric)} is ${higherIsBetter(champion.decidingMetric) ? 'higher' : 'lower'} (better).
The two were tested on their own test sets: unless they share a split (<code>--split-from</code>), compare them by their intervals, or better by cross-validation.</p>
${htmlTable(['Metric', 'This run', `Champion (version ${champion.version})`], rows)}`,
  };
}
