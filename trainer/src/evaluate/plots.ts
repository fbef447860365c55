import type { TopLevelSpec } from 'vega-lite';
import { CLASS_NAMES } from '../data/types';
import type { EpochRecord } from '../train/history';
import { type Calibration, probabilityHistogram } from './calibration';
import { CHART_FONT, renderChart, type ChartFiles } from './chart-renderer';
import { formatMetric, formatPercent } from './html';
import { ratio, rocAuc, rocCurve, sweepThresholds, type Confusion, type TestMetrics } from './metrics';
import { precisionRecallCurve } from './precision-recall';

export const CHART_CONFIG: NonNullable<TopLevelSpec['config']> = {
  font: CHART_FONT,
  background: 'white',
  title: { fontSize: 15, anchor: 'start' },
  axis: { labelFontSize: 12, titleFontSize: 13, grid: true },
  legend: { labelFontSize: 12, titleFontSize: 13 },
};

const SPLIT_COLORS = { domain: ['train', 'validation'], range: ['#1f77b4', '#ff7f0e'] };
const CLASS_COLORS = { domain: [...CLASS_NAMES], range: ['#4c78a8', '#e45756'] };

/** Loss and accuracy per epoch, train against validation, side by side. Writes `<file>.png` and `<file>.svg`. */
export function plotLearningCurves(history: readonly EpochRecord[], file: string): Promise<ChartFiles> {
  return plotEpochCurves({
    title: 'Learning curves',
    rows: history.flatMap((r) => [
      { line: 'train', epoch: r.epoch, loss: r.loss, accuracy: r.accuracy },
      { line: 'validation', epoch: r.epoch, loss: r.val_loss, accuracy: r.val_accuracy },
    ]),
    panelTitles: ['Loss', 'Accuracy'],
    color: { field: 'line', type: 'nominal', title: 'Split', scale: SPLIT_COLORS },
    size: { width: 320, height: 240 },
  }, file);
}

export interface EpochCurves {
  readonly title: string;
  /** One row per line and epoch; `line` names the line (a split, a run). */
  readonly rows: readonly { line: string; epoch: number; loss: number; accuracy: number }[];
  readonly panelTitles: readonly [loss: string, accuracy: string];
  /** How lines are coloured and named in the legend (its field is `line`). */
  readonly color: Color;
  readonly size: { readonly width: number; readonly height: number };
}

type Color = NonNullable<Extract<TopLevelSpec, { encoding?: unknown }>['encoding']>['color'];

/** Loss and accuracy per epoch side by side, one line per `line` value: a run's learning curves, or several runs'. */
export function plotEpochCurves(curves: EpochCurves, file: string): Promise<ChartFiles> {
  const panel = (field: 'loss' | 'accuracy', title: string) => ({
    title,
    ...curves.size,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative' as const, title: 'Epoch', axis: { tickMinStep: 1, format: 'd' } },
      y: { field, type: 'quantitative' as const, title, scale: { zero: false } },
      color: curves.color,
    },
  });
  return renderChart(
    {
      $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
      config: CHART_CONFIG,
      title: curves.title,
      data: { values: [...curves.rows] },
      hconcat: [panel('loss', curves.panelTitles[0]), panel('accuracy', curves.panelTitles[1])],
    },
    file,
  );
}

/** Where the chosen threshold puts the model, marked on the ROC and precision-recall curves. */
export type OperatingPoint = Pick<TestMetrics, 'recall' | 'specificity' | 'precision' | 'threshold'>;

/** One entry of a layered chart's `layer` list. */
type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

export const UNIT_AXIS = { type: 'quantitative' as const, scale: { domain: [0, 1] } };
const CURVE_SIZE = { width: 340, height: 340 };

/** The ROC curve of the test predictions, with the chance diagonal, the AUC in the title and the operating point. */
export function plotRoc(labels: ArrayLike<number>, probs: ArrayLike<number>, file: string, at?: OperatingPoint): Promise<ChartFiles> {
  const { fpr, tpr } = rocCurve(labels, probs);
  const auc = rocAuc(labels, probs);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    title: `ROC curve (AUC = ${formatMetric(auc)})`,
    ...CURVE_SIZE,
    layer: [
      {
        data: { values: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', ...UNIT_AXIS }, y: { field: 'y', ...UNIT_AXIS } },
      },
      curveLayer(fpr, tpr, 'False positive rate (1 - specificity)', 'True positive rate (sensitivity)'),
      ...(at ? [pointLayer(1 - at.specificity, at.recall, at.threshold)] : []),
    ],
  };
  return renderChart(spec, file);
}

/** Precision against recall on the test predictions, with the guessing baseline (the share of positives) and the operating point. */
export function plotPrecisionRecall(labels: ArrayLike<number>, probs: ArrayLike<number>, file: string, at?: OperatingPoint): Promise<ChartFiles> {
  const curve = precisionRecallCurve(labels, probs);
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    title: `Precision-recall (average precision = ${formatMetric(curve.averagePrecision)})`,
    ...CURVE_SIZE,
    layer: [
      {
        data: { values: [{ x: 0, y: curve.baseline }, { x: 1, y: curve.baseline }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'x', ...UNIT_AXIS }, y: { field: 'y', ...UNIT_AXIS } },
      },
      curveLayer(curve.recall, curve.precision, 'Recall (sensitivity)', 'Precision'),
      ...(at ? [pointLayer(at.recall, at.precision, at.threshold)] : []),
    ],
  };
  return renderChart(spec, file);
}

function curveLayer(x: readonly number[], y: readonly number[], xTitle: string, yTitle: string): Layer {
  return {
    data: { values: x.map((value, i) => ({ x: value, y: y[i], order: i })) },
    mark: { type: 'line', color: '#1f77b4', strokeWidth: 2 },
    encoding: {
      x: { field: 'x', ...UNIT_AXIS, title: xTitle },
      y: { field: 'y', ...UNIT_AXIS, title: yTitle },
      order: { field: 'order', type: 'quantitative' },
    },
  };
}

function pointLayer(x: number, y: number, threshold: number): Layer {
  return {
    data: { values: [{ x, y, label: `threshold ${formatMetric(threshold)}` }] },
    layer: [
      { mark: { type: 'point', filled: true, size: 90, color: '#d62728' } },
      { mark: { type: 'text', align: 'left', dx: 8, dy: 12, fontSize: 12, color: '#d62728' }, encoding: { text: { field: 'label', type: 'nominal' } } },
    ],
    encoding: { x: { field: 'x', ...UNIT_AXIS }, y: { field: 'y', ...UNIT_AXIS } },
  };
}

/** Sensitivity and specificity at a threshold: the value of a step holds from the step before it (exclusive) up to its own threshold. */
export interface ThresholdStep {
  readonly threshold: number;
  readonly sensitivity: number;
  readonly specificity: number;
}

/**
 * The steps of sensitivity and specificity as the threshold rises from 0 to 1: a threshold t labels
 * positive every score >= t, so from just above one distinct score up to the next the figures hold.
 */
export function thresholdSteps(labels: ArrayLike<number>, probs: ArrayLike<number>): ThresholdStep[] {
  const { thresholds, tp, fp, positives, negatives } = sweepThresholds(labels, probs);
  // Step k of the sweep labels positive the scores down to thresholds[k]; k = -1 labels none.
  const at = (threshold: number, k: number) => ({
    threshold,
    sensitivity: k < 0 ? 0 : ratio(tp[k], positives),
    specificity: k < 0 ? 1 : ratio(negatives - fp[k], negatives),
  });
  const steps = [at(0, thresholds.length - 1)];
  for (let k = thresholds.length - 1; k >= 0; k--) if (thresholds[k] > 0) steps.push(at(Math.min(1, thresholds[k]), k));
  if (thresholds[0] < 1) steps.push(at(1, -1));
  return steps;
}

/**
 * Sensitivity and specificity of the test predictions at every threshold from 0 to 1, with the
 * chosen threshold as a rule and its two values marked: what moving the threshold would trade.
 */
export function plotThresholds(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold: number, file: string): Promise<ChartFiles> {
  const steps = thresholdSteps(labels, probs);
  const rows = steps.flatMap((s) => [
    { threshold: s.threshold, value: s.sensitivity, line: 'sensitivity' },
    { threshold: s.threshold, value: s.specificity, line: 'specificity' },
  ]);
  // The figures at `threshold`: those of the first step that reaches up to it.
  const marked = steps.find((s) => s.threshold >= threshold) ?? steps[steps.length - 1];
  // The higher value's label goes above its point and the lower's below, so close values do not overprint.
  const [high, low] = marked.sensitivity >= marked.specificity ? ['sensitivity', 'specificity'] as const : ['specificity', 'sensitivity'] as const;
  const point = (line: 'sensitivity' | 'specificity') => ({ threshold, value: marked[line], label: `${line} ${formatMetric(marked[line])}` });
  const leftOfRule = threshold > 0.6;
  const lineColors = { domain: ['sensitivity', 'specificity'], range: ['#e45756', '#4c78a8'] };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    // Short: vega sizes the chart to its title, and the axes say the rest.
    title: 'Sensitivity and specificity',
    ...CURVE_SIZE,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'line', strokeWidth: 2, interpolate: 'step-before' },
        encoding: {
          x: { field: 'threshold', ...UNIT_AXIS, title: `Threshold (dashed: ${formatMetric(threshold)})` },
          y: { field: 'value', ...UNIT_AXIS, title: 'Share of the class called right' },
          color: { field: 'line', type: 'nominal', title: null, scale: lineColors, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
      {
        data: { values: [{ threshold }] },
        mark: { type: 'rule', color: '#d62728', strokeDash: [6, 3], strokeWidth: 2 },
        encoding: { x: { field: 'threshold', ...UNIT_AXIS } },
      },
      ...([[high, -8], [low, 16]] as const).map(([line, dy]): Layer => ({
        data: { values: [point(line)] },
        encoding: { x: { field: 'threshold', ...UNIT_AXIS }, y: { field: 'value', ...UNIT_AXIS } },
        layer: [
          { mark: { type: 'point', filled: true, size: 80, color: '#d62728' } },
          {
            mark: { type: 'text', align: leftOfRule ? 'right' : 'left', dx: leftOfRule ? -8 : 8, dy, fontSize: 12, fontWeight: 'bold', color: '#d62728' },
            encoding: { text: { field: 'label', type: 'nominal' } },
          },
        ],
      })),
    ],
  };
  return renderChart(spec, file);
}

/** Reliability diagram: observed share of positives against mean predicted probability per bin, the diagonal being perfect calibration. */
export function plotCalibration(result: Calibration, file: string): Promise<ChartFiles> {
  const filled = result.bins.filter((bin) => bin.count > 0)
    .map((bin) => ({ predicted: bin.meanPredicted, observed: bin.observed, images: bin.count }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    title: `Reliability (ECE = ${formatMetric(result.ece)}, Brier = ${formatMetric(result.brier)})`,
    ...CURVE_SIZE,
    layer: [
      {
        data: { values: [{ predicted: 0, observed: 0 }, { predicted: 1, observed: 1 }] },
        mark: { type: 'line', color: '#999999', strokeDash: [4, 4] },
        encoding: { x: { field: 'predicted', ...UNIT_AXIS }, y: { field: 'observed', ...UNIT_AXIS } },
      },
      {
        data: { values: filled },
        encoding: {
          x: { field: 'predicted', ...UNIT_AXIS, title: `Mean predicted P(${CLASS_NAMES[1]}), per bin` },
          y: { field: 'observed', ...UNIT_AXIS, title: `Observed share ${CLASS_NAMES[1]}, per bin` },
        },
        layer: [
          { mark: { type: 'line', color: '#1f77b4', strokeWidth: 2 } },
          {
            mark: { type: 'circle', color: '#1f77b4', opacity: 0.8 },
            encoding: {
              size: {
                field: 'images', type: 'quantitative', title: 'Images in bin', scale: { range: [20, 400], zero: false },
                legend: { orient: 'bottom', direction: 'horizontal' },
              },
            },
          },
        ],
      },
    ],
  };
  return renderChart(spec, file);
}

/** How the predicted P(positive) of each true class spreads over [0, 1], with the threshold as a rule. */
export function plotProbabilityHistogram(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold: number, file: string): Promise<ChartFiles> {
  const rows = probabilityHistogram(labels, probs).flatMap((bin) => CLASS_NAMES.map((name, label) => ({
    lower: bin.lower, upper: bin.upper, truth: name, images: bin.counts[label],
  })));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: CHART_CONFIG,
    title: 'Predicted probabilities per true class',
    ...CURVE_SIZE,
    layer: [
      {
        data: { values: rows },
        mark: { type: 'bar', opacity: 0.6, binSpacing: 0 },
        encoding: {
          x: { field: 'lower', ...UNIT_AXIS, title: `Predicted P(${CLASS_NAMES[1]})` },
          x2: { field: 'upper' },
          y: { field: 'images', type: 'quantitative', stack: null, title: 'Images (square-root scale)', scale: { type: 'sqrt', zero: true } },
          // Non-linear scales do not give bars a baseline by themselves.
          y2: { datum: 0 },
          color: { field: 'truth', type: 'nominal', title: 'True class', scale: CLASS_COLORS, legend: { orient: 'bottom', direction: 'horizontal' } },
        },
      },
      {
        data: { values: [{ threshold }] },
        mark: { type: 'rule', color: '#d62728', strokeDash: [6, 3], strokeWidth: 2 },
        encoding: { x: { field: 'threshold', ...UNIT_AXIS } },
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
    return { ...cell, label: [String(cell.count), `${formatPercent(share)} of ${cell.actual}`] };
  });
  const maxCount = Math.max(1, ...cells.map((c) => c.count));
  const order = [...CLASS_NAMES];
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    config: { ...CHART_CONFIG, axis: { ...CHART_CONFIG.axis, grid: false } },
    title: 'Confusion matrix (test split)',
    width: 340,
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
        // Two lines: the count, then its share of the true class (the row).
        mark: { type: 'text', fontSize: 15, fontWeight: 'bold', lineHeight: 20 },
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
