import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeMetrics } from '../../../trainer/src/evaluate/metrics';
import { plotConfusion, plotLearningCurves, plotRoc } from '../../../trainer/src/evaluate/plots';
import { writeReport, type ReportData } from '../../../trainer/src/evaluate/report';
import type { EpochRecord } from '../../../trainer/src/train/history';

const HOSTILE = `<script>alert("x")</script>`;
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];
const HISTORY: EpochRecord[] = [
  { epoch: 1, loss: 0.69, accuracy: 0.55, val_loss: 0.6, val_accuracy: 0.6, learning_rate: 1e-3, epoch_seconds: 2.5, images_per_second: 250 },
  { epoch: 2, loss: 0.4, accuracy: 0.8, val_loss: 0.45, val_accuracy: 0.75, learning_rate: 1e-3, epoch_seconds: 2.4, images_per_second: 260 },
  { epoch: 3, loss: 0.3, accuracy: 0.9, val_loss: 0.5, val_accuracy: 0.74, learning_rate: 1e-3, epoch_seconds: 2.4, images_per_second: 261 },
];

let dir: string;
let data: ReportData;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  const metrics = computeMetrics(LABELS, PROBS);
  const [learning, roc, confusion] = await Promise.all([
    plotLearningCurves(HISTORY, join(dir, 'plots', 'learning-curves')),
    plotRoc(LABELS, PROBS, join(dir, 'plots', 'roc')),
    plotConfusion(metrics.confusion, join(dir, 'plots', 'confusion')),
  ]);
  data = {
    runName: '20261125-203112-compact',
    model: 'compact',
    status: 'FINISHED',
    backend: 'wasm (2 threads)',
    startTime: '2026-11-25T20:31:12.000Z',
    durationSeconds: 185,
    data: { source: 'synthetic:400', splitMode: 'patient', counts: { train: 320, validation: 40, test: 40 } },
    params: { model: 'compact', epochs: 3, learning_rate: 0.001, augment: false, data: `"><img src=x onerror=alert(1)>` },
    history: HISTORY,
    metrics,
    // Relative to the run folder, as the run folder stores them, and absolute.
    plots: { learningCurves: 'plots/learning-curves.png', roc: roc.png, confusion: confusion.png },
  };
  expect(learning.png).toBe(join(dir, 'plots', 'learning-curves.png'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

test('writes report.html with the run, its data, the test metrics and the confusion counts', async () => {
  const file = await writeReport(dir, data);
  expect(file).toBe(join(dir, 'report.html'));
  const html = await readFile(file, 'utf8');
  expect(html).toMatch(/^<!DOCTYPE html>/);
  for (const text of ['20261125-203112-compact', 'FINISHED', 'wasm (2 threads)', 'synthetic:400', '3 min 05 s', '320', 'patient split, 400 images']) {
    expect(html).toContain(text);
  }
  // accuracy 7/10, precision 3/5, recall 3/4, specificity 4/6, AUC 21/24, MCC 10/sqrt(600).
  for (const value of ['0.7000', '0.6000', '0.7500', '0.6667', '0.8750', '0.4082']) expect(html).toContain(`<td>${value}</td>`);
  for (const cell of ['3 (TP)', '2 (FP)', '4 (TN)', '1 (FN)']) expect(html).toContain(`<td>${cell}</td>`);
});

test('marks the epoch with the lowest validation loss and lists every epoch', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  expect(html).toContain('<tr class="best"><td>2</td>');
  expect(html.match(/<tr( class="best")?><td>\d<\/td><td>0\.\d{4}<\/td>/g)).toHaveLength(3);
});

test('inlines the three plots so the file stands alone', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const images = [...html.matchAll(/<img alt="([^"]+)" width="(\d+)" src="data:image\/png;base64,([^"]+)">/g)];
  expect(images.map((m) => m[1])).toEqual(['Learning curves', 'ROC curve', 'Confusion matrix']);
  const roc = await readFile(join(dir, 'plots', 'roc.png'));
  expect(images[1][3]).toBe(roc.toString('base64'));
  // Shown at the chart's design size, half the drawn PNG's width.
  expect(Number(images[1][2])).toBe(roc.readUInt32BE(16) / 2);
  expect(html).not.toMatch(/<link|src="(?!data:)/);
});

test('escapes hostile run names, parameters and error messages', async () => {
  const html = await readFile(
    await writeReport(dir, { ...data, runName: HOSTILE, model: `<b>m</b>`, status: 'FAILED', error: `Error: ${HOSTILE} & more` }),
    'utf8',
  );
  expect(html).not.toContain('<script>');
  expect(html).not.toContain('<img src=x');
  expect(html).not.toContain('<b>m</b>');
  expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;');
  expect(html).toContain('&amp; more');
  expect(html).toContain('FAILED');
});

test('a run killed before testing says so and shows no plots it did not draw', async () => {
  const html = await readFile(
    await writeReport(dir, { ...data, status: 'KILLED', metrics: undefined, history: [], plots: undefined }),
    'utf8',
  );
  expect(html).toContain('KILLED');
  expect(html).toContain('stopped before the test split was evaluated');
  expect(html).toContain('No epoch finished');
  expect(html).not.toContain('<img');
});

test('a plot file that does not exist or is not a PNG is an error naming it', async () => {
  await expect(writeReport(dir, { ...data, plots: { roc: 'missing.png' } })).rejects.toThrow('missing.png');
  await expect(writeReport(dir, { ...data, plots: { roc: 'plots/roc.svg' } })).rejects.toThrow('plot plots/roc.svg is not a PNG');
});
