import type { TopLevelSpec } from 'vega-lite';
import { renderChart, type ChartFiles } from '../evaluate/chart-renderer';
import { formatMetric } from '../evaluate/html';
import { rocAuc, rocCurve } from '../evaluate/metrics';
import { CHART_CONFIG, UNIT_AXIS, plotEpochCurves } from '../evaluate/plots';
import type { RunSummary } from './run-summary';

/** One curve per line on a chart: what the legend calls it, and its test predictions. */
export interface LabeledPredictions {
  readonly label: string;
  readonly labels: ArrayLike<number>;
  readonly probs: ArrayLike<number>;
}

/** ROC curves of several runs (or pooled groups) on one chart, each with its AUC in the legend. */
export function plotRocOverlay(curves: readonly LabeledPredictions[], file: string): Promise<ChartFiles> {
  const rows = curves.flatMap((curve) => {
    const { fpr, tpr } = rocCurve(curve.labels, curve.probs);
    const name = `${curve.label} (AUC ${formatMetric(rocAuc(curve.labels, curve.probs))})`;
    return fpr.map((x, i) => ({ run: name, fpr: x, tpr: tpr[i], order: i }));
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    title: 'ROC curves (test sets)',
    width: 380,
    height: 380,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', ...UNIT_AXIS }, y: { field: 'y', ...UNIT_AXIS } },
      },
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'fpr', ...UNIT_AXIS, title: 'False positive rate (1 - specificity)' },
          y: { field: 'tpr', ...UNIT_AXIS, title: 'True positive rate (sensitivity)' },
          color: { field: 'run', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 360 } },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  };
  return renderChart(spec, file);
}

/** Validation loss and accuracy per epoch of every run, side by side. */
export function plotLearningCurveOverlay(runs: readonly RunSummary[], label: (run: RunSummary) => string, file: string): Promise<ChartFiles> {
  return plotEpochCurves({
    title: 'Learning curves (validation)',
    rows: runs.flatMap((run) => run.history.map((r) => ({ line: label(run), epoch: r.epoch, loss: r.val_loss, accuracy: r.val_accuracy }))),
    panelTitles: ['Validation loss', 'Validation accuracy'],
    color: { field: 'line', type: 'nominal', title: null, legend: { orient: 'bottom', direction: 'vertical', labelLimit: 360 } },
    size: { width: 330, height: 250 },
  }, file);
}
