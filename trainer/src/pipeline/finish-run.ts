import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { LabeledImages } from '../data/types';
import { computeMetrics, toMetricRecord, type TestMetrics } from '../evaluate/metrics';
import { plotConfusion, plotLearningCurves, plotRoc } from '../evaluate/plots';
import { writeReport, type ReportData } from '../evaluate/report';
import type { EpochRecord } from '../train/history';
import { predictProbabilities } from '../train/predict';

export interface Evaluation {
  readonly metrics: TestMetrics;
  readonly record: Record<string, number>;
  readonly plots: { readonly roc: string; readonly confusion: string };
}

/** Test-split metrics, with the ROC curve and confusion matrix drawn into `<runDir>/plots/`. */
export async function evaluateOnTest(
  model: tf.LayersModel, test: LabeledImages, batchSize: number, scale: number, threshold: number, runDir: string,
): Promise<Evaluation> {
  const probabilities = await predictProbabilities(model, test, batchSize, scale);
  const metrics = computeMetrics(test.labels, probabilities, threshold);
  const roc = await plotRoc(test.labels, probabilities, join(runDir, 'plots', 'roc'));
  const confusion = await plotConfusion(metrics.confusion, join(runDir, 'plots', 'confusion-matrix'));
  return { metrics, record: toMetricRecord(metrics), plots: { roc: roc.png, confusion: confusion.png } };
}

/** Learning curves (when there is an epoch to draw) and `report.html`; returns the report's path. */
export async function writeRunReport(
  runDir: string, history: readonly EpochRecord[], data: Omit<ReportData, 'history' | 'plots'>, evaluation?: Evaluation,
): Promise<string> {
  const curves = history.length ? await plotLearningCurves(history, join(runDir, 'plots', 'learning-curves')) : undefined;
  return writeReport(runDir, {
    ...data,
    history,
    metrics: evaluation?.metrics,
    plots: { learningCurves: curves?.png, ...evaluation?.plots },
  });
}
