import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellThumbnail } from '../../../trainer/src/evaluate/cell-thumbnail';
import { evaluatePredictions } from '../../../trainer/src/evaluate/evaluation';
import { mapGallery, selectGallery } from '../../../trainer/src/evaluate/gallery';
import { plotConfusion, plotLearningCurves, plotPrecisionRecall, plotRoc } from '../../../trainer/src/evaluate/plots';
import { writeReport, type ReportData } from '../../../trainer/src/evaluate/report';
import { chooseThreshold } from '../../../trainer/src/evaluate/threshold';
import type { EpochRecord } from '../../../trainer/src/train/history';

const HOSTILE = `<script>alert("x")</script>`;
const LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
const PROBS = [0.9, 0.8, 0.4, 0.6, 0.7, 0.2, 0.1, 0.3, 0.05, 0.5];
const PATIENTS = ['C1P1thinF', 'C1P1thinF', 'C2P2thinF', 'C2P2thinF', 'C1P1thinF', 'C1P1thinF', 'C2P2thinF', 'C2P2thinF', 'C3P3thinF', 'C3P3thinF'];
const FILES = LABELS.map((label, i) => `${label ? 'Parasitized' : 'Uninfected'}/${PATIENTS[i]}_IMG_2015_cell_${i}.png`);
const HISTORY: EpochRecord[] = [
  { epoch: 1, loss: 0.69, accuracy: 0.55, val_loss: 0.6, val_accuracy: 0.6, learning_rate: 1e-3, epoch_seconds: 2.5, images_per_second: 250 },
  { epoch: 2, loss: 0.4, accuracy: 0.8, val_loss: 0.45, val_accuracy: 0.75, learning_rate: 1e-3, epoch_seconds: 2.4, images_per_second: 260 },
  { epoch: 3, loss: 0.3, accuracy: 0.9, val_loss: 0.5, val_accuracy: 0.74, learning_rate: 1e-3, epoch_seconds: 2.4, images_per_second: 261 },
];
const composition = (images: [number, number], patients: [number, number], patientCount: number) => ({ images, patients, patientCount });

let dir: string;
let data: ReportData;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  // Chosen on "validation" for sensitivity >= 0.75: between 0.6 and 0.5.
  const threshold = chooseThreshold(LABELS, PROBS, { metric: 'sensitivity', value: 0.75 });
  const evaluation = evaluatePredictions({ labels: LABELS, probs: PROBS, patients: PATIENTS }, threshold, { seed: 42 });
  const m = evaluation.metrics;
  const [learning, roc, precisionRecall, confusion] = await Promise.all([
    plotLearningCurves(HISTORY, join(dir, 'plots', 'learning-curves')),
    plotRoc(LABELS, PROBS, join(dir, 'plots', 'roc'), m),
    plotPrecisionRecall(LABELS, PROBS, join(dir, 'plots', 'precision-recall'), m),
    plotConfusion(m.confusion, join(dir, 'plots', 'confusion')),
  ]);
  const size = 4;
  const images = { size, pixels: new Uint8Array(LABELS.length * size * size * 3).fill(200), labels: Uint8Array.from(LABELS), files: FILES };
  const gallery = await mapGallery(selectGallery(LABELS, PROBS, { threshold: m.threshold, seed: 1 }), async (i) => ({
    file: FILES[i], patient: PATIENTS[i], label: LABELS[i], probability: PROBS[i], png: await cellThumbnail(images, i),
  }));
  data = {
    runName: '20261125-203112-compact',
    model: 'compact',
    status: 'FINISHED',
    backend: 'wasm (SIMD, 2 threads)',
    startTime: '2026-11-25T20:31:12.000Z',
    durationSeconds: 185,
    data: {
      source: 'synthetic:400', splitMode: 'patient', counts: { train: 320, validation: 40, test: 10 },
      composition: { train: composition([170, 150], [14, 13], 16), validation: composition([20, 20], [2, 2], 2), test: composition([6, 4], [3, 2], 3) },
    },
    params: { model: 'compact', epochs: 3, learning_rate: 0.001, augment: false, data: `"><img src=x onerror=alert(1)>` },
    history: HISTORY,
    evaluation,
    gallery,
    // Relative to the run folder, as the run folder stores them, and absolute.
    plots: { learningCurves: 'plots/learning-curves.png', roc: roc.png, precisionRecall: precisionRecall.png, confusion: confusion.png },
  };
  expect(learning.png).toBe(join(dir, 'plots', 'learning-curves.png'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cellsOf = (html: string, heading: string) => {
  const start = html.indexOf(heading);
  const section = html.slice(start, html.indexOf('<h3>', start + 1));
  return [...section.matchAll(/<figure( class="(right|wrong)")?><img alt="([^"]+)"/g)].map((m) => m[3]);
};

test('writes report.html with the run, its data per split and class, and the test metrics with intervals', async () => {
  const file = await writeReport(dir, data);
  expect(file).toBe(join(dir, 'report.html'));
  const html = await readFile(file, 'utf8');
  expect(html).toMatch(/^<!DOCTYPE html>/);
  for (const text of ['20261125-203112-compact', 'FINISHED', '<td>wasm (SIMD, 2 threads)</td>', 'synthetic:400', '3 min 05 s', '370 images', 'split by patient']) {
    expect(html).toContain(text);
  }
  // Per split: images, per-class images, share of all images, patients, patients per class.
  expect(html).toContain('<tr><td>train</td><td>320</td><td>170</td><td>150</td><td>86.5%</td><td>16</td><td>14</td><td>13</td></tr>');
  expect(html).toContain('10 test images (4 Parasitized, 6 Uninfected) from <strong>3 patients</strong>');
  // At threshold 0.55: accuracy 8/10, sensitivity 3/4, specificity 5/6, AUC 21/24; Wilson 95% for 8/10 is 0.490 to 0.943.
  expect(html).toContain('<tr><td>Accuracy</td><td>0.800</td><td>0.490 to 0.943</td>');
  expect(html).toMatch(/<tr><td>ROC AUC<\/td><td>0\.875<\/td><td>0\.\d{3} to (0\.\d{3}|1\.000)<\/td>/);
  // Resamples that draw only C3P3 (negatives only) have no AUC and are left out, and the report says so.
  expect(html).toMatch(/resamples patients, not cells \(percentile bootstrap over 1,\d{3} resamples \(those of 2,000 that held both classes\) of the 3 test patients, seed 42\)/);
  for (const cell of ['3 (75.0% of 4) TP', '1 (16.7% of 6) FP', '5 (83.3% of 6) TN', '1 (25.0% of 4) FN']) expect(html).toContain(`<td>${cell}</td>`);
});

test('says how the threshold was chosen and what it gives on validation and test', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  expect(html).toContain('Threshold 0.550, chosen on the validation split (never on test) as the highest threshold with sensitivity &ge; 0.75');
  expect(html).toContain('On the validation split (10 images) it gives sensitivity 0.750 and specificity 0.833');
  const defaults = { ...data.evaluation!, threshold: { threshold: 0.5 } };
  expect(await readFile(await writeReport(dir, { ...data, evaluation: defaults }), 'utf8')).toContain('Threshold 0.500, the default');
});

test('a threshold target the validation split could not reach is said beside the threshold, with what it truly gives', async () => {
  const threshold = chooseThreshold([0, 0, 0, 1, 1], [1, 0.2, 0.1, 1, 0.9], { metric: 'specificity', value: 0.99 });
  const evaluation = { ...data.evaluation!, threshold };
  const html = await readFile(await writeReport(dir, { ...data, evaluation }), 'utf8');
  expect(html).toContain('Threshold 1.000, chosen on the validation split (never on test) for <code>--threshold-for specificity=0.99</code>. '
    + '<strong>Warning:</strong> specificity &gt;= 0.99 cannot be reached on validation: 1 of 3 Uninfected cells scores 1');
  expect(html).toContain('On the validation split (5 images) it gives sensitivity 0.500 and specificity 0.667');
});

test('a cell split says how many patients it mixes, and a reused split how many images it left out', async () => {
  const cell = { ...data.data, splitMode: 'cell', sharedPatients: 14, leftOut: 40 };
  const html = await readFile(await writeReport(dir, { ...data, data: cell }), 'utf8');
  expect(html).toContain('split cell by cell: 14 patients have cells in more than one split.');
  expect(html).toContain('The split, reused with <code>--split-from</code>, left out 40 more images of the data set.');
  expect(await readFile(await writeReport(dir, data), 'utf8')).not.toContain('left out');
});

test('against the champion, says which way the deciding metric must move', async () => {
  const champion = { modelName: 'malaria-classifier', alias: 'champion', version: '3', runName: 'r', metrics: { test_brier: 0.05 } };
  const brier = await readFile(await writeReport(dir, { ...data, champion: { ...champion, decidingMetric: 'test_brier' } }), 'utf8');
  expect(brier).toContain('This model takes the alias only if its test_brier is lower (better).');
  const auc = await readFile(await writeReport(dir, { ...data, champion: { ...champion, decidingMetric: 'test_auc' } }), 'utf8');
  expect(auc).toContain('This model takes the alias only if its test_auc is higher (better).');
});

test('lists the test patients worst first, and the cells: missed parasites first, then false alarms, uncertain, examples', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const patients = [...html.matchAll(/<tr( class="bad")?><td>(C\dP\dthinF)<\/td>/g)].map((m) => m[2]);
  // C2P2: 2 positives (0.4 missed) and 2 negatives: 3 of 4 right. C1P1: 0.7 is a false alarm: 3 of 4. C3P3: 2 of 2.
  expect(patients).toEqual(['C1P1thinF', 'C2P2thinF', 'C3P3thinF']);
  expect(html.indexOf('<h3>Missed parasites')).toBeLessThan(html.indexOf('<h3>False alarms'));
  expect(cellsOf(html, '<h3>Missed parasites')).toEqual([FILES[2]]);
  expect(cellsOf(html, '<h3>False alarms')).toEqual([FILES[4]]);
  expect(cellsOf(html, '<h3>Most uncertain')[0]).toBe(FILES[3]);
  expect(html).toContain('<figure class="wrong"><img alt="Parasitized/C2P2thinF_IMG_2015_cell_2.png"');
  expect(html).toContain('<b>P 0.400</b><br>C2P2thinF<br>C2P2thinF_IMG_2015_cell_2.png');
});

test('says whether the best epoch was chosen on validation scored the way the model is used', async () => {
  const report = async (params: object) => readFile(await writeReport(dir, { ...data, params: { ...data.params, ...params } }), 'utf8');
  expect(await report({ tta: true, validateWithTta: false })).toContain('Validation is scored on each image as it is, while the saved model '
    + 'is used with test-time augmentation (the threshold, the test figures and the model server score each image under its 8 flips and rotations): '
    + 'the epoch is chosen on a close, not identical, loss. <code>--validate-with-tta</code> chooses it on the loss as used');
  expect(await report({ tta: true, validateWithTta: true }))
    .toContain('Validation is scored with test-time augmentation (each image under its 8 flips and rotations), as the saved model is used.');
  expect(await report({ tta: false, validateWithTta: false }))
    .toContain('Validation is scored on each image as it is, as the saved model is used (no test-time augmentation).');
});

test('marks the epoch with the lowest validation loss and lists every epoch', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  expect(html).toContain('<tr class="best"><td>2</td>');
  expect(html.match(/<tr( class="best")?><td>\d<\/td><td>0\.\d{3}<\/td>/g)).toHaveLength(3);
  // Learning rates as people write them.
  expect(html).toContain('<td>0.001</td><td>2.5</td>');
});

test('inlines the plots and the cells so the file stands alone', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const images = [...html.matchAll(/<img alt="([^"]+)" width="(\d+)" src="data:image\/png;base64,([^"]+)">/g)];
  expect(images.map((m) => m[1])).toEqual(['ROC curve', 'Precision-recall curve', 'Confusion matrix', 'Learning curves']);
  const roc = await readFile(join(dir, 'plots', 'roc.png'));
  expect(images[0][3]).toBe(roc.toString('base64'));
  // Shown at the chart's design size, half the drawn PNG's width.
  expect(Number(images[0][2])).toBe(roc.readUInt32BE(16) / 2);
  expect(html).toMatch(/<figure[^>]*><img alt="[^"]+" title="[^"]+" src="data:image\/png;base64,/);
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

test('a run killed before testing says so and shows no plots or cells it did not make', async () => {
  const html = await readFile(
    await writeReport(dir, { ...data, status: 'KILLED', evaluation: undefined, gallery: undefined, history: [], plots: undefined }),
    'utf8',
  );
  expect(html).toContain('KILLED');
  expect(html).toContain('stopped before the test split was evaluated');
  expect(html).toContain('No epoch finished');
  expect(html).not.toContain('<img');
  expect(html).not.toContain('Per patient');
});

test('a plot file that does not exist or is not a PNG is an error naming it', async () => {
  await expect(writeReport(dir, { ...data, plots: { roc: 'missing.png' } })).rejects.toThrow('missing.png');
  await expect(writeReport(dir, { ...data, plots: { roc: 'plots/roc.svg' } })).rejects.toThrow('plot plots/roc.svg is not a PNG');
});
