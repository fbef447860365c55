import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/run-cli';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-'));
});

function expectCleanError(result: { code: number | null; stderr: string }, ...fragments: string[]) {
  expect(result.code).toBe(2);
  for (const fragment of fragments) expect(result.stderr).toContain(fragment);
  // One clear message, never a stack trace.
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

test.each([
  [['--epochs', '0'], ['--epochs: must be a whole number of at least 1 (got 0)']],
  [['--epochs', '2.5'], ['--epochs: must be a whole number (got 2.5)']],
  [['--learning-rate', '0'], ['--learning-rate: must be more than 0 (got 0)']],
  [['--image-size', '4000'], ['--image-size: must be a whole number of at most 512 (got 4000)']],
  [['--epochs', 'ten'], ["--epochs: 'ten' is not a number"]],
  [['--split-fractions', '0.5,0.2,0.2'], ['--split-fractions', 'add up to 1']],
])('train %j is refused naming the option, in plain words', async (args, fragments) => {
  const result = await runCli(['train', ...args]);
  expectCleanError(result, ...fragments);
  expect(result.stderr).not.toMatch(/expected|received|Too (small|big)/);
});

test.each([
  ['a misspelled flag', ['--epoch', '3'], ["unknown option '--epoch'", 'Did you mean --epochs?']],
  ['a flag without its value', ['--epochs'], ["option '--epochs <n>' argument missing"]],
  ['a value outside the choices', ['--split', 'random'], ["'random' is invalid", 'patient, cell']],
])('%s is bad input (exit 2), with a hint rather than the whole help', async (_name, args, fragments) => {
  const result = await runCli(['train', ...args]);
  expectCleanError(result, ...fragments, '(add --help for usage)');
  expect(result.stderr).not.toContain('Options:');
});

test('--split-from is checked before any data is read', async () => {
  const result = await runCli(['train', '--split-from', join(dir, 'no-run'), '--data', join(dir, 'nowhere'), '--backend', 'cpu']);
  expectCleanError(result, `--split-from ${join(dir, 'no-run')}: no such file or folder`);
  expect(result.stderr).not.toContain('--data');
  expect(result.stderr).not.toContain('backend');
});

test('a patient split whose patients are in two splits is refused before any data is read, naming them', async () => {
  const splitFile = join(dir, 'overlapping-split.json');
  await writeFile(splitFile, JSON.stringify({
    mode: 'patient', seed: 1, fractions: [0.8, 0.1, 0.1],
    train: ['Parasitized/C1P1_IMG_1_cell_1.png', 'Uninfected/C2P2_IMG_1_cell_1.png'],
    validation: ['Uninfected/C1P1_IMG_1_cell_2.png'],
    test: ['Parasitized/C3P3_IMG_1_cell_1.png'],
  }));
  const result = await runCli(['train', '--split-from', splitFile, '--data', join(dir, 'nowhere'), '--backend', 'cpu']);
  expectCleanError(result, `${splitFile} says it splits by patient, but 1 of its 3 patients have cells in more than one split (C1P1 in train and validation)`,
    'set "mode": "cell" in the file, or make one with --split cell');
  expect(result.stderr).not.toContain('--data');
});

test('a bad --relabel file is refused before any data is read, naming the file, the line and the fix', async () => {
  await writeFile(join(dir, 'labels.csv'), 'file,new_label\nParasitized/a.png,Parasitised\n');
  const result = await runCli(['train', '--relabel', join(dir, 'labels.csv'), '--data', join(dir, 'nowhere'), '--backend', 'cpu']);
  expectCleanError(result, `--relabel ${join(dir, 'labels.csv')} line 2: new_label "Parasitised" is not a class; write Parasitized or Uninfected`);
  expect(result.stderr).not.toContain('--data');
});

test('an unknown model lists the known ones before any data is read', async () => {
  const result = await runCli(['train', '--model', 'resnet', '--data', join(dir, 'nowhere'), '--backend', 'cpu']);
  expectCleanError(result, 'unknown model "resnet"', 'micro', 'vgg16');
});

test('a missing data folder says what --data accepts', async () => {
  const result = await runCli(['train', '--data', join(dir, 'nowhere'), '--backend', 'cpu', '--model', 'micro']);
  expectCleanError(result, `--data ${join(dir, 'nowhere')}: no such file or folder`, 'synthetic[:N]');
});

test('--cv 12 with 10 patients fails before any run folder is made (no FAILED group left behind)', async () => {
  const out = join(dir, 'cv-runs');
  const result = await runCli(['train', '--data', 'synthetic:40', '--cv', '12', '--model', 'micro', '--image-size', '32', '--out', out, '--cache-dir', join(dir, 'cache')]);
  expectCleanError(result, '--cv 12: 10 patients are too few for 12 folds with a validation set each; use fewer folds or more data');
  expect(existsSync(out)).toBe(false);
});

test('a malformed MLflow variable is refused before any data is read', async () => {
  const result = await runCli(['train', '--data', join(dir, 'nowhere'), '--model', 'micro'], { env: { MLFLOW_TRACKING_URI: 'ftp://mlflow' } });
  expectCleanError(result, 'MLFLOW_TRACKING_URI', 'http:// or https://');
  expect(result.stderr).not.toContain('--data');
});

test('a forced backend that is not installed names the package to install', async () => {
  const result = await runCli(['train', '--backend', 'tensorflow']);
  expectCleanError(result, '@tensorflow/tfjs-node');
});

test('--config: unreadable, invalid and wrong-shaped files are clear errors; flags win over the file', async () => {
  expectCleanError(await runCli(['train', '--config', join(dir, 'none.json')]), `--config: cannot read '${join(dir, 'none.json')}'`);
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"epochs": 3,');
  expectCleanError(await runCli(['train', '--config', bad]), 'is not valid JSON');
  const list = join(dir, 'list.json');
  await writeFile(list, '[1]');
  expectCleanError(await runCli(['train', '--config', list]), 'must hold a JSON object');
  const good = join(dir, 'good.json');
  await writeFile(good, JSON.stringify({ 'image-size': 2, epochs: 0 }));
  // The file's epochs: 0 is overridden by the flag, so only the file's image size is left to complain about.
  const result = await runCli(['train', '--config', good, '--epochs', '2', '--list-models']);
  expectCleanError(result, `${good}: "image-size": must be a whole number of at least 16 (got 2)`);
  expect(result.stderr).not.toContain('--epochs');
});

test('--config: a misspelled key and a bad value name the file and the key, with "did you mean"', async () => {
  const file = join(dir, 'typos.json');
  await writeFile(file, JSON.stringify({ epoch: 3, 'batch-sise': 32, 'image-size': 2.5, model: 'micro' }));
  const result = await runCli(['train', '--config', file, '--epochs', '0']);
  expectCleanError(
    result,
    `${file}: "epoch": unknown option; did you mean "epochs"?`,
    `${file}: "batch-sise": unknown option; did you mean "batch-size"?`,
    `${file}: "image-size": must be a whole number (got 2.5)`,
    // A flag is named as a flag, even when the file has a key of the same name.
    '--epochs: must be a whole number of at least 1 (got 0)',
  );
  expect(result.stderr).not.toMatch(/\(options\)|Unrecognized key/);
});

test('--list-models prints every model with its parameter count, one line each within 80 columns, the default marked', async () => {
  const result = await runCli(['train', '--list-models', '--image-size', '64']);
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('models at 64x64x3 input');
  for (const name of ['cnn-1', 'cnn-2', 'cnn-3', 'cnn-4', 'vgg16', 'compact', 'micro']) {
    expect(result.stdout).toMatch(new RegExp(`^  ${name}( \\*)?\\s+[\\d,]+  \\S`, 'm'));
  }
  expect(result.stdout).toMatch(/^ {2}compact \* /m);
  expect(result.stdout.match(/ \* /g)).toHaveLength(1);
  for (const line of result.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
});

test('--help shows how it is run and every option with its default', async () => {
  const result = await runCli(['train', '--help']);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^Usage: npm run train -- \[options\]/);
  expect(result.stdout).toMatch(/--image-size <n>\s+square input size in pixels \(default: 100\)/);
  expect(result.stdout).toMatch(/--split-fractions <a,b,c>[\s\S]*default:\s+0\.8,0\.1,0\.1/);
  expect(result.stdout).toContain('--list-models');
});
