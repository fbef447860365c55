import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transformer } from '@napi-rs/image';
import { computeMetrics } from '../../../trainer/src/evaluate/metrics';
import { calibration } from '../../../trainer/src/evaluate/calibration';
import {
  plotCalibration, plotConfusion, plotLearningCurves, plotPrecisionRecall, plotProbabilityHistogram, plotRoc, plotThresholds, thresholdSteps,
} from '../../../trainer/src/evaluate/plots';
import type { EpochRecord } from '../../../trainer/src/train/history';

const HISTORY: EpochRecord[] = [1, 2, 3, 4].map((epoch) => ({
  epoch,
  loss: 0.7 / epoch,
  accuracy: 1 - 0.4 / epoch,
  val_loss: 0.75 / epoch,
  val_accuracy: 1 - 0.45 / epoch,
  learning_rate: 1e-3,
  epoch_seconds: 2,
  images_per_second: 250,
}));
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plots-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Width and height from the IHDR chunk, after checking the PNG signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.toString('latin1', 12, 16)).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const match = /<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg);
  if (!match) throw new Error('no size on the svg element');
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Share of dark pixels in the title band (top 24 px of the SVG): zero if the text had no font to draw with. */
async function titleInk(png: Buffer): Promise<number> {
  const { width } = pngSize(png);
  const rgba = await new Transformer(png).rawPixels();
  const rows = 2 * 24;
  let dark = 0;
  for (let i = 0; i < width * rows; i++) if (rgba[4 * i] < 100 && rgba[4 * i + 1] < 100 && rgba[4 * i + 2] < 100) dark++;
  return dark / (width * rows);
}

async function expectChart(files: { png: string; svg: string }, titles: string[]): Promise<void> {
  const [png, svg] = await Promise.all([readFile(files.png), readFile(files.svg, 'utf8')]);
  const size = pngSize(png);
  // PNGs are drawn at twice the SVG size.
  expect(size).toEqual({ width: 2 * svgSize(svg).width, height: 2 * svgSize(svg).height });
  expect(size.width).toBeGreaterThan(500);
  expect(size.width).toBeLessThan(3000);
  expect(size.height).toBeGreaterThan(400);
  expect(size.height).toBeLessThan(2000);
  for (const title of titles) expect(svg).toContain(title);
  expect(await titleInk(png)).toBeGreaterThan(0.01);
}

test('learning curves show loss and accuracy per epoch for both splits', async () => {
  const files = await plotLearningCurves(HISTORY, join(dir, 'learning-curves'));
  expect(files).toEqual({ png: join(dir, 'learning-curves.png'), svg: join(dir, 'learning-curves.svg') });
  await expectChart(files, ['Epoch', 'Loss', 'Accuracy', 'train', 'validation']);
});

test('the ROC curve names both rates and carries the AUC in its title', async () => {
  const files = await plotRoc(LABELS, PROBS, join(dir, 'roc.png'));
  expect(files.png).toBe(join(dir, 'roc.png'));
  await expectChart(files, ['ROC curve (AUC = 0.875)', 'False positive rate', 'True positive rate']);
  expect(await readFile(files.svg, 'utf8')).not.toContain('threshold');
});

test('the ROC and precision-recall curves mark the operating point at the chosen threshold', async () => {
  const at = computeMetrics(LABELS, PROBS, 0.55);
  const roc = await plotRoc(LABELS, PROBS, join(dir, 'roc-at'), at);
  await expectChart(roc, ['threshold 0.550']);
  const pr = await plotPrecisionRecall(LABELS, PROBS, join(dir, 'precision-recall'), at);
  // Average precision of the hand-worked example: 0.854167.
  await expectChart(pr, ['Precision-recall (average precision = 0.854)', 'Recall (sensitivity)', 'Precision', 'threshold 0.550']);
});

test('the reliability diagram carries ECE and Brier score; the histogram shows both classes and the threshold', async () => {
  const cal = await plotCalibration(calibration(LABELS, PROBS), join(dir, 'calibration'));
  await expectChart(cal, ['Reliability (ECE = ', 'Brier = ', 'Observed share Parasitized', 'Images in bin']);
  const hist = await plotProbabilityHistogram(LABELS, PROBS, 0.55, join(dir, 'probabilities'));
  await expectChart(hist, ['Predicted probabilities per true class', 'Uninfected', 'Parasitized', 'square-root scale']);
  // Bars rise from the axis: with a square-root scale vega-lite would otherwise draw them as thin dashes.
  const svg = await readFile(hist.svg, 'utf8');
  const heights = [...svg.matchAll(/aria-roledescription="bar" d="M[\d.]+,[\d.]+h[\d.]+v([\d.]+)h/g)].map((m) => Number(m[1]));
  expect(heights.length).toBe(40);
  expect(Math.max(...heights)).toBeGreaterThan(100);
});

test('the confusion matrix shows both class names and every count', async () => {
  const { confusion } = computeMetrics(LABELS, PROBS);
  const files = await plotConfusion(confusion, join(dir, 'nested', 'confusion'));
  await expectChart(files, ['Predicted class', 'True class', 'Uninfected', 'Parasitized']);
  const svg = await readFile(files.svg, 'utf8');
  // tp 3 of 4 positives, fp 2 of 6 negatives, tn 4 of 6, fn 1 of 4.
  for (const label of ['75.0% of Parasitized', '33.3% of Uninfected', '66.7% of Uninfected', '25.0% of Parasitized']) expect(svg).toContain(label);
});

test('the threshold steps hold the sensitivity and specificity of every threshold from 0 to 1', () => {
  const steps = thresholdSteps(LABELS, PROBS);
  expect(steps[0]).toEqual({ threshold: 0, sensitivity: 1, specificity: 0 });
  expect(steps.at(-1)).toEqual({ threshold: 1, sensitivity: 0, specificity: 1 });
  // From just above 0.5 up to 0.6: 0.6, 0.7, 0.8, 0.9 are positive: 3 of 4 positives found, 5 of 6 negatives cleared.
  const at = (t: number) => steps.find((s) => s.threshold >= t)!;
  expect(at(0.55)).toEqual({ threshold: 0.6, sensitivity: 0.75, specificity: 5 / 6 });
  expect(at(0.6)).toBe(at(0.55));
  // Exactly at a score, that score is positive (>=): at 0.5 the negative scoring 0.5 is a false alarm.
  expect(at(0.5)).toEqual({ threshold: 0.5, sensitivity: 0.75, specificity: 4 / 6 });
  expect(steps.map((s) => s.threshold)).toEqual([...steps.map((s) => s.threshold)].sort((a, b) => a - b));
});

test('the threshold curve draws both lines and marks the chosen threshold with its two figures', async () => {
  const files = await plotThresholds(LABELS, PROBS, 0.55, join(dir, 'thresholds'));
  await expectChart(files, ['Sensitivity and specificity', 'Threshold (dashed: 0.550)', 'sensitivity 0.750', 'specificity 0.833']);
  const svg = await readFile(files.svg, 'utf8');
  expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(2);
  // As wide as the ROC curve beside it: no title or label stretches the chart.
  expect(svgSize(svg).width).toBeLessThan(450);
});
