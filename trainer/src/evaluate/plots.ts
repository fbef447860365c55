import type { TopLevelSpec } from 'vega-lite';
import { CLASS_NAMES } from '../data/types';
import type { EpochRecord } from '../train/history';
import { CHART_FONT, renderChart, type ChartFiles } from './chart-renderer';
import { rocAuc, rocCurve, type Confusion } from './metrics';

const CONFIG: NonNullable<TopLevelSpec['config']> = {
  font: CHART_FONT,
  background: 'white',
  title: { fontSize: 15, anchor: 'start' },
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
  legend: { labelFontSize: 12, titleFontSize: 13 },
};

const SPLIT_COLORS = { domain: ['train', 'validation'], range: ['#1f77b4', '#ff7f0e'] };

/** Loss and accuracy per epoch, train against validation, side by side. Writes `<file>.png` and `<file>.svg`. */
export function plotLearningCurves(history: readonly EpochRecord[], file: string): Promise<ChartFiles> {
  const rows = history.flatMap((r) => [
    { epoch: r.epoch, split: 'train', loss: r.loss, accuracy: r.accuracy },
    { epoch: r.epoch, split: 'validation', loss: r.val_loss, accuracy: r.val_accuracy },
  ]);
  const panel = (field: 'loss' | 'accuracy', title: string) => ({
    title,
    width: 320,
    height: 240,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field, type: 'quantitative' as const, title, scale: { zero: false } },
      color: { field: 'split', type: 'nominal' as const, title: 'Split', scale: SPLIT_COLORS },
    },
  });
  return renderChart(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      config: CONFIG,
      title: 'Learning curves',
      data: { values: rows },
      hconcat: [panel('loss', 'Loss'), panel('accuracy', 'Accuracy')],
    },
    file,
  );
}

/** The ROC curve of the test predictions, with the chance diagonal and the AUC in the title. */
export function plotRoc(labels: ArrayLike<number>, probs: ArrayLike<number>, file: string): Promise<ChartFiles> {
  const { fpr, tpr } = rocCurve(labels, probs);
  const auc = rocAuc(labels, probs);
  const axis = { type: 'quantitative' as const, scale: { domain: [0, 1] } };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CONFIG,
    title: `ROC curve (AUC = ${auc.toFixed(4)})`,
    width: 360,
    height: 360,
    layer: [
      {
        data: { values: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'fpr', ...axis }, y: { field: 'tpr', ...axis } },
      },
      {
        data: { values: fpr.map((x, i) => ({ fpr: x, tpr: tpr[i], order: i })) },
        mark: { type: 'line', color: '#1f77b4', strokeWidth: 2 },
        encoding: {
          x: { field: 'fpr', ...axis, title: 'False positive rate (1 - specificity)' },
          y: { field: 'tpr', ...axis, title: 'True positive rate (sensitivity)' },
          order: { field: 'order', type: 'quantitative' },
        },
      },
    ],
  };
  return renderChart(spec, file);
}

/** The 2x2 confusion matrix as a heatmap with the count and the share of its true class in each cell. */
export function plotConfusion(confusion: Confusion, file: string): Promise<ChartFiles> {
  const [negative, positive] = CLASS_NAMES;
  const cells = [
    { actual: negative, predicted: negative, count: confusion.tn },
    { actual: negative, predicted: positive, count: confusion.fp },
    { actual: positive, predicted: negative, count: confusion.fn },
    { actual: positive, predicted: positive, count: confusion.tp },
  ].map((cell) => {
    const classTotal = cell.actual === positive ? confusion.tp + confusion.fn : confusion.tn + confusion.fp;
    const share = classTotal === 0 ? 0 : cell.count / classTotal;
    return { ...cell, label: `${cell.count} (${(100 * share).toFixed(1)}%)` };
  });
  const maxCount = Math.max(1, ...cells.map((c) => c.count));
  const order = [...CLASS_NAMES];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: { ...CONFIG, axis: { ...CONFIG.axis, grid: false } },
    title: 'Confusion matrix (test split)',
    width: 300,
    height: 300,
    data: { values: cells },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: order, title: 'Predicted class', axis: { labelAngle: 0 } },
      y: { field: 'actual', type: 'nominal', sort: order, title: 'True class' },
    },
    layer: [
      {
        mark: 'rect',
        encoding: {
          color: { field: 'count', type: 'quantitative', title: 'Images', scale: { scheme: 'blues', domain: [0, maxCount] } },
        },
      },
      {
        mark: { type: 'text', fontSize: 16, fontWeight: 'bold' },
        encoding: {
          text: { field: 'label', type: 'nominal' },
          // Dark cells get white text so the count stays readable.
          color: { condition: { test: `datum.count > ${maxCount / 2}`, value: 'white' }, value: 'black' },
        },
      },
    ],
  };
  return renderChart(spec, file);
}
