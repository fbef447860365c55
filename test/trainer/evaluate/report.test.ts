import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calibration } from '../../../trainer/src/evaluate/calibration';
import { cellThumbnail } from '../../../trainer/src/evaluate/cell-thumbnail';
import { evaluatePredictions } from '../../../trainer/src/evaluate/evaluation';
import { mapGallery, selectGallery } from '../../../trainer/src/evaluate/gallery';
import { parseTrainConfig } from '../../../trainer/src/config';
import { plotLearningCurves, plotPrecisionRecall, plotRoc, plotThresholds } from '../../../trainer/src/evaluate/plots';
import { writeReport, type GalleryCell, type ReportData } from '../../../trainer/src/evaluate/report';
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
let allCells: GalleryCell[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'report-'));
  // Chosen on "validation" for sensitivity >= 0.75: between 0.6 and 0.5.
  const threshold = chooseThreshold(LABELS, PROBS, { metric: 'sensitivity', value: 0.75 });
  const evaluation = evaluatePredictions({ labels: LABELS, probs: PROBS, patients: PATIENTS }, threshold, { seed: 42 });
  const m = evaluation.metrics;
  const [learning, roc, precisionRecall, thresholds] = await Promise.all([
    plotLearningCurves(HISTORY, join(dir, 'plots', 'learning-curves')),
    plotRoc(LABELS, PROBS, join(dir, 'plots', 'roc'), m),
    plotPrecisionRecall(LABELS, PROBS, join(dir, 'plots', 'precision-recall'), m),
    plotThresholds(LABELS, PROBS, m.threshold, join(dir, 'plots', 'thresholds')),
  ]);
  const size = 4;
  const images = { size, pixels: new Uint8Array(LABELS.length * size * size * 3).fill(200), labels: Uint8Array.from(LABELS), files: FILES };
  allCells = await Promise.all(LABELS.map(async (label, i) => ({
    file: FILES[i], patient: PATIENTS[i], label, probability: PROBS[i], png: await cellThumbnail(images, i),
    // The false alarm at 0.7 is a parasitized cell filed as uninfected, as the data set says.
    ...(i === 4 ? { knownLabelError: true } : {}),
  })));
  const gallery = await mapGallery(selectGallery(LABELS, PROBS, { threshold: m.threshold, seed: 1 }), async (i) => allCells[i]);
  data = {
    runName: '20261125-203112-compact',
    model: 'compact',
    status: 'FINISHED',
    backend: { name: 'wasm', summary: 'wasm (SIMD, 2 threads)' },
    startTime: '2026-11-25T20:31:12.000Z',
    durationSeconds: 185,
    data: {
      source: 'synthetic:400', splitMode: 'patient', counts: { train: 320, validation: 40, test: 10 },
      composition: { train: composition([170, 150], [14, 13], 16), validation: composition([20, 20], [2, 2], 2), test: composition([6, 4], [3, 2], 3) },
    },
    options: parseTrainConfig({ data: 'synthetic', model: 'compact', epochs: 3, imageSize: 64, augment: false, lrSchedule: 'constant', thresholdFor: 'sensitivity=0.75' }),
    paramCount: 72_057,
    history: HISTORY,
    evaluation,
    gallery,
    labelErrors: { listed: 1, disagreed: 1 },
    // Relative to the run folder, as the run folder stores them, and absolute.
    plots: { learningCurves: 'plots/learning-curves.png', roc: roc.png, precisionRecall: precisionRecall.png, thresholds: thresholds.png },
  };
  expect(learning.png).toBe(join(dir, 'plots', 'learning-curves.png'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cellsOf = (html: string, heading: string) => {
  const start = html.indexOf(heading);
  const section = html.slice(start, html.indexOf('<h3>', start + 1));
  return [...section.matchAll(/<figure[^>]*><img alt="([^"]+)"/g)].map((m) => m[1]);
};

test('writes report.html with the run, its data per split and class, and the test metrics with intervals', async () => {
  const file = await writeReport(dir, data);
  expect(file).toBe(join(dir, 'report.html'));
  const html = await readFile(file, 'utf8');
  expect(html).toMatch(/^<!DOCTYPE html>/);
  for (const text of ['20261125-203112-compact', 'FINISHED', '<td>wasm (SIMD, 2 threads)</td>', 'synthetic:400', '3 min 05 s', '370 images', 'split by patient', '2026-11-25 20:31 UTC']) {
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
  expect(html).not.toContain('2026-11-25T20:31:12');
});

/** The report's sections by their anchors, in page order. */
const sectionsOf = (html: string) => [...html.matchAll(/<section id="([a-z-]+)">/g)].map((m) => m[1]);

test('opens with a headline: the model, the data as given, the key settings and the test figures with intervals', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const body = html.slice(html.indexOf('<body>'));
  const header = body.slice(0, body.indexOf('</header>'));
  // Before anything else: no section precedes it.
  expect(body.indexOf('<header class="headline">')).toBeLessThan(body.indexOf('<section'));
  // It opens with what the model is and was trained on, not with the run's folder or times, which follow the settings.
  expect(header).toContain('<header class="headline">\n<h1>compact on <code>synthetic:400</code></h1>\n<p class="settings">');
  expect(header).toContain('72,057 parameters &middot; 64x64 px &middot; no augmentation &middot; test-time augmentation &middot; seed 42 &middot; 3 of 3 epochs (best: 2)');
  // Accuracy 8/10 with its Wilson interval; sensitivity 3/4, specificity 5/6, AUC with its bootstrap interval.
  expect(header).toContain('<div class="name">Accuracy</div><div class="value">0.800</div><div class="interval">0.490 to 0.943</div>');
  expect(header).toMatch(/<div class="name">Sensitivity<\/div><div class="value">0\.750<\/div><div class="interval">0\.\d{3} to [01]\.\d{3}<\/div>/);
  expect(header).toMatch(/<div class="name">ROC AUC<\/div><div class="value">0\.875<\/div><div class="interval">0\.\d{3} to [01]\.\d{3}<\/div>/);
  expect(header).toContain('On 10 test cells of 3 patients the model never saw, at threshold 0.550');
  // No champion given, no verdict.
  expect(header).not.toContain('alias');
  // A URL or path is named by its last part in the title, and given whole below it.
  const url = 'https://data.lhncbc.nlm.nih.gov/public/Malaria/cell_images.zip';
  const nih = await readFile(await writeReport(dir, { ...data, data: { ...data.data, source: url } }), 'utf8');
  expect(nih).toContain(`<h1>compact on <code>cell_images.zip</code></h1>\n<p class="run">data <code>${url}</code></p>`);
});

test('reads top-down: verdict, evidence, then the detail, with the cell galleries last', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  expect(sectionsOf(html)).toEqual(['test-metrics', 'threshold', 'curves', 'calibration', 'training', 'data', 'options', 'run', 'patients', 'cells']);
  // A line of contents under the headline links every section.
  const contents = html.slice(html.indexOf('<nav class="contents">'), html.indexOf('</nav>'));
  expect([...contents.matchAll(/href="#([a-z-]+)"/g)].map((m) => m[1])).toEqual(sectionsOf(html));
});

test('the verdict against the champion says whether this model takes the alias, by the same rule as the registry', async () => {
  const champion = { modelName: 'malaria-classifier', alias: 'champion', version: '3', runName: 'older', decidingMetric: 'test_auc' };
  const headerOf = async (metrics: Record<string, number>) => {
    const html = await readFile(await writeReport(dir, { ...data, champion: { ...champion, metrics } }), 'utf8');
    return html.slice(html.indexOf('<header'), html.indexOf('</header>'));
  };
  const beaten = await headerOf({ test_auc: 0.8526315789473684, test_accuracy: 0.9 });
  expect(beaten).toContain('<p class="verdict wins"><strong>Takes the alias</strong> from <code>malaria-classifier@champion</code> (version 3, run older): its test_auc 0.875\nbeats the champion\'s 0.853.');
  const better = await headerOf({ test_auc: 0.9 });
  expect(better).toContain('<p class="verdict loses"><strong>Does not take the alias</strong>');
  expect(better).toContain('its test_auc 0.875\ndoes not beat the champion\'s 0.900');
  // Three decimals, more only to tell the two apart.
  expect(await headerOf({ test_auc: 0.8752 })).toContain('test_auc 0.8750\ndoes not beat the champion\'s 0.8752');
  expect(await readFile(join(dir, 'report.html'), 'utf8')).toContain('<section id="champion"><h2>Against the current champion</h2>');
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
  expect(await readFile(await writeReport(dir, data), 'utf8')).not.toContain('--split-from</code>, left out');
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
  // The whole file name (it starts with the patient), breaking only after underscores.
  expect(html).toContain('<b>P 0.400</b><br><span class="file">C2P2thinF_<wbr>IMG_<wbr>2015_<wbr>cell_<wbr>2.png</span>');
});

test('every cell shows its whole file name', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const shown = [...html.matchAll(/<span class="file">(.*?)<\/span>/g)].map((m) => m[1].replace(/<wbr>/g, ''));
  expect(shown.length).toBeGreaterThan(5);
  for (const name of shown) expect(FILES.map((file) => file.slice(file.indexOf('/') + 1))).toContain(name);
});

test('marks the cells the data set lists as filed under the wrong class, and says what they do to the figures', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  expect(html).toContain('<figure class="wrong known-label-error"><img alt="Uninfected/C1P1thinF_IMG_2015_cell_4.png"');
  expect(html).toMatch(/<figure class="wrong known-label-error">.*?<span class="flag">label known wrong<\/span>/);
  expect(html.match(/<figure[^>]*known-label-error/g)!.length).toBe(html.match(/<figure[^>]*><img alt="Uninfected\/C1P1thinF_IMG_2015_cell_4.png"/g)!.length);
  expect(html).toContain('1 test cell is filed under the wrong class, as the data set\'s <code>known-label-errors.txt</code> says');
  expect(html).toContain('so 1 of the 2 errors they count are cells where the model\ndisagreed with a wrong label');
  const unmarked = await mapGallery(selectGallery(LABELS, PROBS, { threshold: 0.55, seed: 1 }), async (i) => ({ ...allCells[i], knownLabelError: false }));
  const html2 = await readFile(await writeReport(dir, { ...data, labelErrors: undefined, gallery: unmarked }), 'utf8');
  expect(html2).not.toContain('known-label-errors.txt');
  expect(html2).not.toMatch(/<figure[^>]*known-label-error/);
});

test('one confusion matrix, beside the threshold curve, with how the threshold was chosen', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const threshold = html.slice(html.indexOf('<section id="threshold">'), html.indexOf('</section>', html.indexOf('<section id="threshold">')));
  expect(threshold).toContain('<img alt="Sensitivity and specificity against the threshold"');
  expect(threshold).toContain('<h3>Confusion matrix at the threshold</h3>');
  expect(html.match(/[Cc]onfusion matrix/g)).toHaveLength(1);
  expect(html).not.toContain('alt="Confusion matrix"');
});

test('the calibration section says in words where the model is over- or under-confident, and how to read both halves', async () => {
  const confident = { ...data.evaluation!, calibration: calibration(
    Array.from({ length: 200 }, (_, i) => (i < 100 ? (i < 30 ? 1 : 0) : 1)),
    // 100 cells said 0.05 of which 30 are positive (over-confident about Uninfected); 100 said 0.7, all positive (under-confident).
    Array.from({ length: 200 }, (_, i) => (i < 100 ? 0.05 : 0.7)),
  ) };
  const html = await readFile(await writeReport(dir, { ...data, evaluation: confident }), 'utf8');
  const section = html.slice(html.indexOf('<section id="calibration">'), html.indexOf('</section>', html.indexOf('<section id="calibration">')));
  expect(section).toContain('Above 0.5, where\nthe model leans to Parasitized, that is over-confidence; below 0.5, where it leans to Uninfected, it is under-confidence');
  expect(section).toContain('<li><strong>Over-confident</strong> where it says 0.0 to 0.1 (100 cells): it gives them 0.050 on average, and 30.0% are Parasitized: surer than it should be that they are Uninfected.</li>');
  expect(section).toContain('<li><strong>Under-confident</strong> where it says 0.7 to 0.8 (100 cells): it gives them 0.700 on average, and 100.0% are Parasitized: it could be surer that they are Parasitized.</li>');
  expect(section).not.toContain('more sure than it should be');
});

test('lists the options as the flags a user types, only those that applied, the data as given', async () => {
  const html = await readFile(await writeReport(dir, data), 'utf8');
  const options = html.slice(html.indexOf('<section id="options">'), html.indexOf('</section>', html.indexOf('<section id="options">')));
  expect(options).toContain('<pre><code>npm run train -- --data synthetic:400 --epochs 3 --image-size 64 --lr-schedule constant --no-augment --threshold-for sensitivity=0.75</code></pre>');
  for (const flag of ['--batch-size 64', '--seed 42', '--split-fractions 0.8,0.1,0.1', '--tta', '--no-augment', '--model compact']) expect(options).toContain(`<code>${flag}</code>`);
  const flags = [...options.matchAll(/<td class="option"><code>(--[a-z-]+)/g)].map((m) => m[1]);
  expect(flags).toContain('--max-unreadable');
  // A constant rate has no patience or factor; no MLflow, no registry; wasm's threads only on wasm; vgg16's switches only for vgg16.
  for (const flag of ['--lr-patience', '--lr-factor', '--register-model', '--champion-metric', '--freeze-base', '--require-gpu', '--threads']) {
    expect(flags).not.toContain(flag);
  }
  expect(options).not.toMatch(/batchSize|imageSize/);
  const plateau = await readFile(await writeReport(dir, {
    ...data, mlflow: 'http://localhost:5000', options: { ...data.options, lrSchedule: 'plateau', threads: 2 },
  }), 'utf8');
  for (const flag of ['--lr-patience 1', '--lr-factor 0.5', '--register-model malaria-classifier', '--threads 2']) expect(plateau).toContain(`<code>${flag}</code>`);
});

test('says whether the best epoch was chosen on validation scored the way the model is used', async () => {
  const report = async (options: object) => readFile(await writeReport(dir, { ...data, options: { ...data.options, ...options } }), 'utf8');
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
  expect(images.map((m) => m[1])).toEqual(['Sensitivity and specificity against the threshold', 'ROC curve', 'Precision-recall curve', 'Learning curves']);
  const roc = await readFile(join(dir, 'plots', 'roc.png'));
  expect(images[1][3]).toBe(roc.toString('base64'));
  // Shown at the chart's design size, half the drawn PNG's width.
  expect(Number(images[1][2])).toBe(roc.readUInt32BE(16) / 2);
  expect(html).toMatch(/<figure[^>]*><img alt="[^"]+" title="[^"]+" src="data:image\/png;base64,/);
  expect(html).not.toMatch(/<link|src="(?!data:)/);
});

test('escapes hostile run names, options and error messages', async () => {
  const html = await readFile(
    await writeReport(dir, {
      ...data, runName: HOSTILE, model: `<b>m</b>`, status: 'FAILED', error: `Error: ${HOSTILE} & more`,
      data: { ...data.data, source: `"><img src=x onerror=alert(1)>` },
    }),
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
  expect(html).toContain('No test figures: the run was stopped after 0 of 3 epochs, before the test split was evaluated.');
  expect(html).toContain('No epoch finished');
  expect(sectionsOf(html)).toEqual(['training', 'data', 'options', 'run']);
  expect(html).not.toContain('<img');
  expect(html).not.toContain('Per patient');
});

test('a plot file that does not exist or is not a PNG is an error naming it', async () => {
  await expect(writeReport(dir, { ...data, plots: { roc: 'missing.png' } })).rejects.toThrow('missing.png');
  await expect(writeReport(dir, { ...data, plots: { roc: 'plots/roc.svg' } })).rejects.toThrow('plot plots/roc.svg is not a PNG');
});
