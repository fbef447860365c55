import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { TrainConfig } from '../config';
import { patientOf } from '../data/split';
import type { LabeledImages, SplitName } from '../data/types';
import { cellThumbnail } from '../evaluate/cell-thumbnail';
import { evaluatePredictions, evaluationRecord, type Evaluation } from '../evaluate/evaluation';
import { mapGallery, selectGallery, type Gallery } from '../evaluate/gallery';
import { galleryMaps } from '../evaluate/gallery-maps';
import { formatMetric } from '../evaluate/html';
import { writePredictions } from '../evaluate/predictions-file';
import {
  plotCalibration, plotConfusion, plotLearningCurves, plotPrecisionRecall, plotProbabilityHistogram, plotRoc, plotThresholds,
} from '../evaluate/plots';
import { writeReport, type GalleryCell, type ReportData, type ReportPlots } from '../evaluate/report';
import type { LabelErrorCount } from '../evaluate/report-evaluation';
import { chooseThreshold, parseThresholdTarget, type ThresholdChoice } from '../evaluate/threshold';
import { saveModel } from '../models/model-files';
import type { Preprocessing } from '../models/preprocessing';
import type { RunStatus } from '../tracking/tracker';
import type { EpochRecord } from '../train/history';
import { predictProbabilities } from '../train/predict';

/** The test evaluation of a finished run: plain figures, their flat record, the plots and the cell gallery. */
export interface RunEvaluation {
  readonly evaluation: Evaluation;
  /** metrics.json and MLflow's test metrics. */
  readonly record: Record<string, number>;
  readonly plots: Omit<ReportPlots, 'learningCurves'>;
  readonly gallery: Gallery<GalleryCell>;
  /** Test cells the data set lists as filed under the wrong class. */
  readonly labelErrors: LabelErrorCount;
}

export interface SaveAndEvaluateOptions {
  /** FINISHED runs are evaluated on test; others only get their model saved. */
  readonly status: RunStatus;
  readonly config: Pick<TrainConfig, 'batchSize' | 'seed' | 'thresholdFor'>;
  /** What the model is saved with; its threshold is replaced by the one chosen on validation. */
  readonly preprocessing: Preprocessing;
  readonly runDir: string;
  readonly log: (line: string) => void;
  /** Images (as in LabeledImages.files) the data set lists as filed under the wrong class. */
  readonly knownLabelErrors?: ReadonlySet<string>;
}

/**
 * The end of a run: chooses the decision threshold on the validation split (never on test), saves
 * the model to `<runDir>/model` with it, so the served model decides as the report says, and for a
 * finished run evaluates the test split at that threshold (both scored as the model server will
 * score images: with test-time augmentation when `preprocessing.tta` says so): metrics with intervals, calibration,
 * per-patient results, plots and the cell gallery, its errors and uncertain cells with activation maps.
 */
export async function saveAndEvaluate(
  model: tf.LayersModel,
  parts: Pick<Record<SplitName, LabeledImages>, 'validation' | 'test'>,
  opts: SaveAndEvaluateOptions,
): Promise<{ modelDir: string; evaluation?: RunEvaluation }> {
  const { config, preprocessing, log } = opts;
  // Resolved once, so the report reads the plots where they were written, whatever the working folder.
  const runDir = resolve(opts.runDir);
  const finished = opts.status === 'FINISHED';
  const target = config.thresholdFor === undefined ? undefined : parseThresholdTarget(config.thresholdFor);
  // An interrupted run is scored on validation only when a target needs it: it should stop quickly.
  const threshold: ThresholdChoice = finished || target
    ? chooseThreshold(parts.validation.labels, await predict(model, parts.validation, config.batchSize, preprocessing), target)
    : { threshold: preprocessing.threshold };
  if (target) log(`threshold: ${describeThreshold(threshold)}`);
  if (threshold.warning) log(`warning: --threshold-for ${config.thresholdFor}: ${threshold.warning}`);
  const modelDir = join(runDir, 'model');
  await saveModel(model, modelDir, { ...preprocessing, threshold: threshold.threshold });
  if (!finished) return { modelDir };

  const test = parts.test;
  const probs = await predict(model, test, config.batchSize, preprocessing);
  const patients = test.files.map(patientOf);
  const evaluation = evaluatePredictions({ labels: test.labels, probs, patients }, threshold, { seed: config.seed });
  await writePredictions(runDir, { files: test.files, patients, labels: test.labels, probs });
  const m = evaluation.metrics;
  log(`test: accuracy ${formatMetric(m.accuracy)}  AUC ${formatMetric(m.auc)}  F1 ${formatMetric(m.f1)}  `
    + `sensitivity ${formatMetric(m.recall)}  specificity ${formatMetric(m.specificity)}  `
    + `(${m.count} images, ${evaluation.patientCount} patients, threshold ${formatMetric(m.threshold)})`);
  const plot = (name: string) => join(runDir, 'plots', name);
  // The confusion matrix is drawn for the run's plots and MLflow; the report shows it as a table.
  const [roc, precisionRecall, calibration, probabilities, thresholds] = await Promise.all([
    plotRoc(test.labels, probs, plot('roc'), m),
    plotPrecisionRecall(test.labels, probs, plot('precision-recall'), m),
    plotCalibration(evaluation.calibration, plot('calibration')),
    plotProbabilityHistogram(test.labels, probs, m.threshold, plot('probabilities')),
    plotThresholds(test.labels, probs, m.threshold, plot('thresholds')),
    plotConfusion(m.confusion, plot('confusion-matrix')),
  ]);
  const knownWrong = (i: number) => opts.knownLabelErrors?.has(test.files[i]) ?? false;
  const listed = test.files.map((_, i) => i).filter(knownWrong);
  const labelErrors = { listed: listed.length, disagreed: listed.filter((i) => (probs[i] >= m.threshold ? 1 : 0) !== test.labels[i]).length };
  const selection = selectGallery(test.labels, probs, { threshold: m.threshold, seed: config.seed });
  const explained = [...new Set([...selection.falseNegatives, ...selection.falsePositives, ...selection.uncertain])];
  const maps = await galleryMaps(model, test, explained, preprocessing.scale, log);
  const cells = await mapGallery(selection, async (i): Promise<GalleryCell> => ({
    file: test.files[i], patient: patients[i], label: test.labels[i], probability: probs[i], png: await cellThumbnail(test, i),
    ...(knownWrong(i) ? { knownLabelError: true } : {}),
    ...(maps?.overlays.has(i) ? { activationMap: maps.overlays.get(i) } : {}),
  }));
  const gallery = maps ? { ...cells, activationMaps: maps.description } : cells;
  return {
    modelDir,
    evaluation: {
      evaluation,
      record: evaluationRecord(evaluation),
      plots: {
        roc: roc.png, precisionRecall: precisionRecall.png, calibration: calibration.png,
        probabilities: probabilities.png, thresholds: thresholds.png,
      },
      gallery,
      labelErrors,
    },
  };
}

/** `0.231 (validation sensitivity 0.951 >= 0.95, specificity 0.874)`. */
function describeThreshold(choice: ThresholdChoice): string {
  const v = choice.validation;
  const figures = v ? `validation sensitivity ${formatMetric(v.sensitivity)}, specificity ${formatMetric(v.specificity)}` : '';
  const rule = choice.target ? `chosen on validation for ${choice.target.metric} >= ${choice.target.value}` : 'the default';
  return `${formatMetric(choice.threshold)} (${rule}${figures ? `; ${figures}` : ''})`;
}

function predict(model: tf.LayersModel, images: LabeledImages, batchSize: number, preprocessing: Preprocessing): Promise<Float32Array> {
  return predictProbabilities(model, images, batchSize, preprocessing.scale, preprocessing.tta);
}

/** Learning curves (when there is an epoch to draw) and `report.html`; returns the report's path. */
export async function writeRunReport(
  folder: string, history: readonly EpochRecord[], data: Omit<ReportData, 'history' | 'plots' | 'evaluation' | 'gallery' | 'labelErrors'>,
  evaluation?: RunEvaluation,
): Promise<string> {
  const runDir = resolve(folder);
  const curves = history.length ? await plotLearningCurves(history, join(runDir, 'plots', 'learning-curves')) : undefined;
  return writeReport(runDir, {
    ...data,
    history,
    evaluation: evaluation?.evaluation,
    gallery: evaluation?.gallery,
    labelErrors: evaluation?.labelErrors,
    plots: { learningCurves: curves?.png, ...evaluation?.plots },
  });
}

