import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMetric } from '../../../trainer/src/evaluate/html';
import { runCli } from '../../support/run-cli';

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

let work: string;
let common: string[];
/** The first test's run, whose split the second reuses (the second makes its own when run alone). */
let firstRunDir: string | undefined;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'train-e2e-'));
  common = ['--data', 'synthetic:800', '--model', 'micro', '--image-size', '48', '--seed', '3',
    '--out', join(work, 'runs'), '--cache-dir', join(work, 'cache')];
});

test('a short training on synthetic cells reaches 0.85 test accuracy and leaves a complete run folder', async () => {
  const result = await runCli(['train', ...common, '--epochs', '8', '--batch-size', '32']);
  expect(result.stderr).toMatch(/^backend: WebAssembly on the CPU \(wasm\), \d threads? with SIMD; training kernels: [^;]+; native TensorFlow, which is faster, is not installed/m);
  expect(result.code).toBe(0);
  const runDir = result.stdout.trim().split('\n').at(-1) as string;
  expect(runDir).toMatch(/runs\/\d{8}-\d{6}-micro$/);

  const metrics = await readJson(join(runDir, 'metrics.json'));
  // The synthetic cells are hard on purpose (faint parasites, debris, 3% wrong labels): 0.91 and 0.95 when measured.
  expect(metrics.test_accuracy).toBeGreaterThanOrEqual(0.85);
  expect(metrics.test_auc).toBeGreaterThanOrEqual(0.9);
  const epochs = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
  expect(epochs[0]).toMatchObject({ epoch: 1, learning_rate: 0.001 });
  expect(epochs.map((e) => e.epoch)).toEqual(epochs.map((_, i) => i + 1));
  expect(await readJson(join(runDir, 'params.json'))).toMatchObject({ model: 'micro', epochs: 8, imageSize: 48, param_count: expect.any(Number) });
  expect(await readJson(join(runDir, 'run.json'))).toMatchObject({ status: 'FINISHED', tags: { model: 'micro', backend: 'wasm' } });
  expect(await readJson(join(runDir, 'model', 'preprocessing.json'))).toMatchObject({ inputSize: 48, positiveClass: 'Parasitized', threshold: 0.5 });
  for (const file of ['split.json', 'model/model.json', 'model/weights.bin', 'plots/learning-curves.png', 'plots/roc.png',
    'plots/precision-recall.png', 'plots/calibration.png', 'plots/probabilities.png', 'plots/confusion-matrix.png']) {
    expect(existsSync(join(runDir, file))).toBe(true);
  }
  const report = await readFile(join(runDir, 'report.html'), 'utf8');
  expect(report).toContain('FINISHED');
  expect(report).toContain(`<td>Accuracy</td><td>${formatMetric(metrics.test_accuracy)}</td>`);
  // It opens with the model on the data as given, and marks the cells the synthetic set mislabels on purpose.
  expect(report).toContain('<h1>micro on <code>synthetic:800</code></h1>');
  expect(report).toMatch(/\d+ test cells? (is|are) filed under the wrong class, as the data set's <code>known-label-errors.txt<\/code> says/);
  expect(report).toMatch(/<figure class="wrong known-label-error( explained)?">/);
  expect(result.stderr).toContain('  *best: the lowest validation loss so far; the run keeps the weights of its best epoch\n');
  expect(result.stderr).toMatch(/^epoch 8\/8  loss \d\.\d{3}  acc \d\.\d{3}  val_loss \d\.\d{3}/m);
  firstRunDir = runDir;
});

test('another run can reuse exactly the same split (and choose its epoch on validation scored as the model is used)', async () => {
  const runDir = firstRunDir ?? (await runCli(['train', ...common, '--epochs', '1'])).stdout.trim().split('\n').at(-1) as string;
  const again = await runCli(['train', ...common, '--epochs', '1', '--split-from', runDir, '--validate-with-tta']);
  expect(again.code).toBe(0);
  expect(again.stderr).not.toContain('leaves out');
  const secondDir = again.stdout.trim().split('\n').at(-1) as string;
  expect(secondDir).not.toBe(runDir);
  const [first, second] = await Promise.all([readJson(join(runDir, 'split.json')), readJson(join(secondDir, 'split.json'))]);
  expect(second.test).toEqual(first.test);
  expect(second.train).toEqual(first.train);
  expect(await readFile(join(secondDir, 'report.html'), 'utf8')).toContain('Validation is scored with test-time augmentation');
});

test('Ctrl-C stops training cleanly: the run is KILLED, the best model so far is saved, exit code 130', async () => {
  let sent = false;
  const result = await runCli(['train', ...common, '--epochs', '50', '--patience', '0'], {
    onStderr: (text, child) => {
      if (!sent && /epoch 1\/50 .*val_loss/.test(text)) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  expect(sent).toBe(true);
  expect(result.code).toBe(130);
  expect(result.stderr).toContain('SIGINT: stopping after this step');
  const runDir = result.stdout.trim().split('\n').at(-1) as string;
  expect(await readJson(join(runDir, 'run.json'))).toMatchObject({ status: 'KILLED' });
  expect(existsSync(join(runDir, 'model', 'model.json'))).toBe(true);
  expect(await readFile(join(runDir, 'report.html'), 'utf8')).toContain('KILLED');
  expect(existsSync(join(runDir, 'metrics.json'))).toBe(false);
});
