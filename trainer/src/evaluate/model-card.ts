import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainConfig } from '../config';
import { CLASS_NAMES } from '../data/types';
import type { Evaluation } from './evaluation';
import { formatDuration, formatMetric, formatNumber, formatPercent } from './html';
import type { Interval } from './intervals';
import type { ReportData } from './report';

export const MODEL_CARD_FILE = 'model_card.md';

/** What a model card says: the report's figures of the run, the recipe, and where the model can be found. */
export interface ModelCardData extends Pick<ReportData, 'runName' | 'model' | 'status' | 'backend' | 'startTime' | 'durationSeconds' | 'data' | 'history' | 'evaluation'> {
  readonly recipe: Pick<TrainConfig,
    'imageSize' | 'epochs' | 'batchSize' | 'learningRate' | 'lrSchedule' | 'labelSmoothing' | 'augment' | 'tta' | 'seed' | 'patience' | 'weights' | 'freezeBase'>;
  readonly paramCount: number;
  /** Digest of the image files read, and of the split (which file went where). */
  readonly datasetDigest: string;
  readonly splitDigest: string;
  /** The MLflow run, when the run is tracked and the server gave it an id. */
  readonly runId?: string;
  /** The registered model a finished run is registered in, when MLflow is set. */
  readonly registeredModel?: string;
}

/** Patients listed in the card, worst first; the report has them all. */
const WORST_PATIENTS = 5;

const [NEGATIVE, POSITIVE] = CLASS_NAMES;

function mdTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const line = (cells: readonly string[]) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

function interval(value: Interval | undefined): string {
  return value ? `${formatMetric(value.low)} to ${formatMetric(value.high)}` : '';
}

function purpose(data: ModelCardData): string {
  return `# Malaria cell classifier: ${data.model} (run ${data.runName})

## What it is for, and what not

**For:** screening single red blood cells from Giemsa-stained **thin** blood smears, one cell per image (crops
like those of the NIH malaria data set): it gives each cell P(${POSITIVE}) and a label, so that a microscopist can
look at the flagged cells first. A screening aid for a trained reader.

**Not for:** diagnosing malaria in a person. It never sees a patient, only cells, one at a time; a diagnosis rests
on a trained microscopist (or a rapid test or PCR) looking at many fields, and on the species and the
parasitaemia, which this model does not tell. Not for thick smears, whole fields of view, other stains or
microscopes unlike the training data's without checking it on them first, species identification or parasite
counts. Every ${POSITIVE} call is to be confirmed by a person; an ${NEGATIVE} cell does not rule out infection.`;
}

function dataSection(data: ModelCardData): string {
  const { counts, composition, source, splitMode } = data.data;
  const splits = ['train', 'validation', 'test'] as const;
  const table = composition
    ? mdTable(
      ['Split', 'Images', `${POSITIVE}`, `${NEGATIVE}`, 'Patients'],
      splits.map((name) => [name, String(counts[name]), String(composition[name].images[1]), String(composition[name].images[0]), String(composition[name].patientCount)]),
    )
    : mdTable(['Split', 'Images'], splits.map((name) => [name, String(counts[name])]));
  const how = splitMode === 'patient'
    ? 'split by patient (the text before `_IMG_` in a file name): no patient has cells in two splits, so the test figures are on patients the model never saw'
    : 'split cell by cell: a patient\'s cells can be in several splits, so the test figures are optimistic for new patients';
  return `## Data and split

${counts.train + counts.validation + counts.test} images from \`${source}\`, ${how}.

${table}

Data digest \`${data.datasetDigest}\`; split digest \`${data.splitDigest}\` (the run folder's \`split.json\` lists every file's split; \`--split-from\` reuses it).`;
}

function figures(evaluation: Evaluation): string {
  const { metrics: m, intervals } = evaluation;
  const rows = [
    ['Accuracy', formatMetric(m.accuracy), interval(intervals.accuracy)],
    ['Sensitivity (parasitized cells found)', formatMetric(m.recall), interval(intervals.recall)],
    ['Specificity (uninfected cells cleared)', formatMetric(m.specificity), interval(intervals.specificity)],
    ['ROC AUC', formatMetric(m.auc), interval(intervals.auc)],
    ['Precision', formatMetric(m.precision), ''],
    ['F1', formatMetric(m.f1), ''],
    ['Average precision', formatMetric(evaluation.averagePrecision), ''],
  ];
  return `## Test figures

${m.count} test cells (${m.confusion.tp + m.confusion.fn} ${POSITIVE}, ${m.confusion.tn + m.confusion.fp} ${NEGATIVE}) of ${evaluation.patientCount} patients, at the threshold below.

${mdTable(['Metric', 'Value', '95% interval'], rows)}

Accuracy, sensitivity and specificity have Wilson intervals, which treat cells as independent: cells of one patient
are not, so they are too narrow. The AUC interval is a bootstrap over patients (seed ${evaluation.seed}). With few test
patients every figure moves by points; cross-validation (\`--cv\`) gives a steadier estimate.`;
}

function calibrationSection(evaluation: Evaluation): string {
  const { brier, ece, bins } = evaluation.calibration;
  const filled = bins.filter((bin) => bin.count > 0);
  return `## Calibration

Brier score ${formatMetric(brier)} (0 is perfect; always answering 0.5 scores 0.25), expected calibration error ${formatMetric(ece)}
(the gap between predicted and observed share of ${POSITIVE} cells, averaged over cells).

${mdTable(['P(' + POSITIVE + ')', 'Cells', 'Mean predicted', 'Observed share'], filled.map((bin) => [
    `${formatNumber(bin.lower, 1)} to ${formatNumber(bin.upper, 1)}`, String(bin.count), formatMetric(bin.meanPredicted), formatMetric(bin.observed),
  ]))}`;
}

function thresholdSection(evaluation: Evaluation): string {
  const { threshold: choice, metrics: m } = evaluation;
  const { tp, fp, tn, fn } = m.confusion;
  const how = choice.target
    ? `chosen on the validation split (never on test) as the ${choice.target.metric === 'sensitivity' ? 'highest' : 'lowest'} threshold with ${choice.target.metric} at least ${choice.target.value} (\`--threshold-for ${choice.target.metric}=${choice.target.value}\`)`
    : 'the default (`--threshold-for sensitivity=0.95` or `specificity=...` chooses one on the validation split)';
  const validation = choice.validation
    ? ` On validation it gave sensitivity ${formatMetric(choice.validation.sensitivity)} and specificity ${formatMetric(choice.validation.specificity)}.`
    : '';
  return `## Threshold and what it trades

A cell is labelled ${POSITIVE} when P(${POSITIVE}) is at least **${formatMetric(choice.threshold)}**, ${how}.${validation}
On test it missed ${fn} of ${tp + fn} ${POSITIVE} cells (${formatPercent(tp + fn ? fn / (tp + fn) : 0)}) and flagged ${fp} of ${tn + fp} ${NEGATIVE} cells (${formatPercent(tn + fp ? fp / (tn + fp) : 0)}).
A lower threshold finds more parasites at the price of more false alarms, a higher one the reverse; a missed
parasite costs more in screening, which is why a sensitivity target is the usual choice. The model's
\`preprocessing.json\` holds the threshold, and every way of loading it below labels cells with it.`;
}

function worstPatients(evaluation: Evaluation): string {
  const shown = evaluation.patients.slice(0, WORST_PATIENTS);
  return `## Worst test patients

${mdTable(['Patient', 'Cells', 'Missed parasites', 'False alarms', 'Accuracy'], shown.map((p) => [
    p.patient, String(p.images), String(p.falseNegatives), String(p.falsePositives), formatMetric(p.accuracy),
  ]))}

A model that fails on some patients (a stain, a microscope) fails on such patients in use too; the run's
\`report.html\` shows all ${evaluation.patients.length} and their cells.`;
}

function recipe(data: ModelCardData): string {
  const r = data.recipe;
  const epochsRun = data.history.length;
  const best = epochsRun ? data.history.reduce((a, b) => (b.val_loss < a.val_loss ? b : a)) : undefined;
  const speed = epochsRun ? data.history.reduce((sum, e) => sum + e.images_per_second, 0) / epochsRun : undefined;
  const rows = [
    ['Architecture', `\`${data.model}\`, ${data.paramCount.toLocaleString('en-US')} parameters${r.weights ? `, base initialised from ${r.weights}${r.freezeBase ? ' (frozen)' : ''}` : ''}`],
    ['Input', `${r.imageSize}x${r.imageSize} RGB, pixels scaled to 0-1, every image stretched to the square`],
    ['Optimiser', `Adam from ${r.learningRate}, ${r.lrSchedule} schedule, batch ${r.batchSize}${r.labelSmoothing ? `, label smoothing ${r.labelSmoothing}` : ''}`],
    ['Epochs', `${epochsRun} of at most ${r.epochs}${r.patience ? ` (early stop after ${r.patience} without a better validation loss)` : ''}${best ? `; the weights are epoch ${best.epoch}'s, the lowest validation loss` : ''}`],
    ['Augmentation', r.augment ? 'random flips, quarter turns and ±10% brightness' : 'none'],
    ['Test-time augmentation', r.tta ? 'P is the mean over the 8 flips and quarter turns of each cell (8x the work per cell)' : 'none'],
    ['Seed', String(r.seed)],
    ['Cost', `${formatDuration(data.durationSeconds)} from start to end on ${data.backend.summary}${speed ? `, ${formatNumber(speed, 0)} training images/s` : ''}; started ${data.startTime}`],
  ];
  return `## Training recipe and cost

${mdTable(['', ''], rows)}

A cloud run also logs its GPU time and estimated dollars to MLflow (\`system/gpu_seconds\`, \`system/cost_usd\`).`;
}

function loading(data: ModelCardData): string {
  const name = data.registeredModel ?? 'malaria-classifier';
  const uri = `models:/${name}/<version>`;
  const runUri = data.runId ? `runs:/${data.runId}/model` : 'runs:/<run_id>/model';
  return `## How to load it

Python (\`pip install -r requirements.txt\` from the model's files: MLflow, Keras with JAX, Pillow); P(${POSITIVE}) and the label per image:

\`\`\`python
import mlflow
model = mlflow.pyfunc.load_model("${uri}")   # or ${runUri}, models:/${name}@champion
cells = [open(path, "rb").read() for path in ["cell1.png", "cell2.png"]]
print(model.predict(cells))                   # DataFrame: probability, label
\`\`\`

REST, MLflow's server: \`mlflow models serve -m ${uri} --env-manager local -p 5001\`, then
\`curl -X POST localhost:5001/invocations -H 'content-type: application/json' -d '{"instances": ["<base64 PNG>"]}'\`;
\`mlflow models generate-dockerfile -m ${uri}\` writes a Docker image of it.

This project: \`npm run serve -- --model ${uri}\` answers the same requests (and raw PNG bodies, pixel arrays).`;
}

/**
 * The model card (markdown) of a saved model, from the figures the run's report shows: what the
 * model is for and not for, the data and split, test figures with intervals, calibration, the
 * threshold and what it trades, the worst test patients, the recipe and what it cost, and how to
 * load it. A model that was not evaluated on test (an interrupted run) says so instead of figures.
 */
export function renderModelCard(data: ModelCardData): string {
  const { evaluation } = data;
  const sections = [
    purpose(data),
    dataSection(data),
    ...(evaluation
      ? [figures(evaluation), thresholdSection(evaluation), calibrationSection(evaluation), worstPatients(evaluation)]
      : [`## Test figures\n\nNone: the run ended ${data.status} before the test split was evaluated. Do not use this model before it is.`]),
    recipe(data),
    loading(data),
  ];
  return `${sections.join('\n\n')}\n`;
}

/** Writes `<modelDir>/model_card.md`, which travels with the model to MLflow. */
export async function writeModelCard(modelDir: string, data: ModelCardData): Promise<string> {
  await mkdir(modelDir, { recursive: true });
  const file = join(modelDir, MODEL_CARD_FILE);
  await writeFile(file, renderModelCard(data));
  return file;
}

/** MLflow keeps a model version's description in 5,000 characters. */
export const DESCRIPTION_LIMIT = 5000;

/**
 * A registered version's description: `header`, then as many of the card's sections as fit in
 * MLflow's limit, whole sections only, and a pointer to the full card among the version's files.
 */
export function versionDescription(header: string, card: string, limit = DESCRIPTION_LIMIT): string {
  const sections = card.trimEnd().split(/\n(?=## )/);
  const pointer = `\n\n*The full card: \`${MODEL_CARD_FILE}\` among this version's files.*`;
  let kept = sections.length;
  const text = (n: number) => `${header}\n\n${sections.slice(0, n).join('\n')}${n < sections.length ? pointer : ''}`;
  while (kept > 0 && text(kept).length > limit) kept -= 1;
  return text(kept).slice(0, limit);
}
