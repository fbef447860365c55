import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { listModels } from '../../trainer/src/models/registry';
import { solidPng, writeTree } from '../support/image-fixtures';

// bench/keras-same-split.py on a tiny synthetic run: its input errors need only python3; training
// needs a Python with keras, tensorflow, scikit-learn and pillow (KERAS_PYTHON, else
// /root/venv-keras/bin/python) and is skipped without one.

const SCRIPT = join(__dirname, '../../bench/keras-same-split.py');
const PREFIX = join(tmpdir(), 'keras-same-split-');
const SIZE = 16;

function python(bin: string, args: string[]) {
  const result = spawnSync(bin, [SCRIPT, ...args], { encoding: 'utf8', timeout: 280_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function kerasPython(): string | undefined {
  const candidate = process.env.KERAS_PYTHON ?? '/root/venv-keras/bin/python';
  if (!existsSync(candidate)) return undefined;
  const probe = spawnSync(candidate, ['-c', 'import keras, tensorflow, sklearn, PIL, numpy'], { timeout: 120_000 });
  return probe.status === 0 ? candidate : undefined;
}

let dir = '';
let data = '';
let run = '';

beforeAll(async () => {
  dir = await mkdtemp(PREFIX);
  data = join(dir, 'data');
  run = join(dir, 'run');
  const files: Record<string, Buffer> = {};
  const split: Record<'train' | 'validation' | 'test', string[]> = { train: [], validation: [], test: [] };
  for (let i = 0; i < 24; i++) {
    const part = i < 16 ? 'train' : i < 20 ? 'validation' : 'test';
    const dark = 40 + i;
    const light = 200 - i;
    files[`cells/Parasitized/p${i}.png`] = await solidPng({ width: 20, height: 20, color: [dark, dark, dark, 255] });
    files[`cells/Uninfected/u${i}.png`] = await solidPng({ width: 20, height: 20, color: [light, light, light, 255], colorType: i % 2 ? 'grey' : 'rgba' });
    split[part].push(`Parasitized/p${i}.png`, `Uninfected/u${i}.png`);
  }
  await writeTree(data, files);
  const paramCount = listModels(SIZE).find((m) => m.name === 'cnn-1')?.params;
  await writeTree(run, {
    'params.json': JSON.stringify({
      model: 'cnn-1', epochs: 3, batchSize: 8, imageSize: SIZE, learningRate: 0.001, lrSchedule: 'cosine',
      augment: true, augmentSymmetries: 'flips', augmentBrightness: 0.1, labelSmoothing: 0, patience: 0, seed: 7,
      tta: true, validateWithTta: false, param_count: paramCount,
    }),
    'split.json': JSON.stringify({ mode: 'random', seed: 7, ...split }),
  });
});

afterAll(async () => {
  // Only ever the folder mkdtemp made above.
  if (dir.startsWith(PREFIX) && !dir.slice(tmpdir().length + 1).includes(sep)) await rm(dir, { recursive: true, force: true });
});

describe('input errors (python3, no TensorFlow needed)', () => {
  test('a missing run folder', () => {
    const out = python('python3', ['--run', join(dir, 'nowhere'), '--data', data]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^error: --run .*nowhere: no such folder\n$/);
  });

  test('a model the script does not build names the ones it does', async () => {
    const other = join(dir, 'other-model');
    const params = JSON.parse(await readFile(join(run, 'params.json'), 'utf8'));
    await writeTree(other, { 'params.json': JSON.stringify({ ...params, model: 'compact' }), 'split.json': await readFile(join(run, 'split.json')) });
    const out = python('python3', ['--run', other, '--data', data]);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("model 'compact', which this script does not build; it knows cnn-1, cnn-2, cnn-3, cnn-4, cnn-1-gap");
    expect(out.stderr).not.toContain('Traceback');
  });

  test('a data set lacking files of the split', async () => {
    const partial = join(dir, 'partial');
    await writeTree(partial, { 'Parasitized/p0.png': await solidPng({ width: 4, height: 4 }), 'Uninfected/u0.png': await solidPng({ width: 4, height: 4 }) });
    const out = python('python3', ['--run', run, '--data', partial]);
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/^error: --data .*partial lacks 30 of the split's 32 train files \(e\.g\. Parasitized\/p1\.png/);
  });
});

const keras = kerasPython();
(keras ? test : test.skip)('trains the run\'s model on its split with the trainer\'s parameter count', async () => {
  const outFile = join(dir, 'result.json');
  const out = python(keras!, ['--run', run, '--data', data, '--epochs', '2', '--tta', '--out', outFile]);
  expect(out.stderr).not.toContain('Traceback');
  expect(out.status).toBe(0);
  const lines = out.stdout.trim().split('\n');
  const expected = listModels(SIZE).find((m) => m.name === 'cnn-1')?.params;
  expect(lines).toContainEqual(`model cnn-1: ${expected?.toLocaleString('en-US')} parameters (the trainer's: ${expected?.toLocaleString('en-US')}, same)`);
  expect(lines.filter((l) => /^epoch \d\/2 .* val_acc \d/.test(l))).toHaveLength(2);
  const result = JSON.parse(lines[lines.length - 1]);
  expect(result).toMatchObject({ model: 'cnn-1', parameters: expected, epochs: 2, stepsTrained: 8, testImages: 8, testTta: true });
  expect([1, 2]).toContain(result.bestEpoch);
  expect(result.testAccuracy).toBeGreaterThanOrEqual(0);
  expect(result.testAuc).toBeGreaterThanOrEqual(0);
  expect(JSON.parse(await readFile(outFile, 'utf8'))).toEqual(result);
}, 300_000);
