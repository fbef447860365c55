import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { createCheckpointStore, MANIFEST_NAME, type CheckpointState } from '../../../trainer/src/cloud/checkpoint-store';
import type { EpochRecord } from '../../../trainer/src/train/history';
import { startFakeS3, type FakeS3 } from './fake-s3';

function record(epoch: number, valLoss: number): EpochRecord {
  return { epoch, loss: 0.5 / epoch, accuracy: 0.8, val_loss: valLoss, val_accuracy: 0.7, learning_rate: 1e-3, epoch_seconds: 2.5, images_per_second: 300 };
}

function state(epoch: number): CheckpointState {
  const history = Array.from({ length: epoch }, (_, i) => record(i + 1, 1 / (i + 1)));
  return {
    epoch,
    runId: 'a1b2c3',
    history,
    weights: [
      { name: 'conv/kernel', shape: [3, 3, 3, 2], dtype: 'float32', data: Float32Array.from({ length: 54 }, (_, i) => i * 0.5 + epoch) },
      { name: 'conv/bias', shape: [2], dtype: 'float32', data: Float32Array.of(-1.25, epoch) },
    ],
    optimizer: [
      { name: 'iter', shape: [], dtype: 'int32', data: Int32Array.of(epoch * 100) },
      { name: 'conv/kernel/m', shape: [2], dtype: 'float32', data: Float32Array.of(0.1, 0.2) },
    ],
    best: { epoch, valLoss: 1 / epoch, weights: [{ name: 'conv/bias', shape: [2], dtype: 'float32', data: Float32Array.of(7, 8) }] },
    meta: { randomState: [1, 2, 3], runDir: 'runs/x' },
  };
}

function expectSameState(actual: CheckpointState | undefined, expected: CheckpointState) {
  expect(actual).toBeDefined();
  expect(actual!.epoch).toBe(expected.epoch);
  expect(actual!.runId).toBe(expected.runId);
  expect(actual!.history).toEqual(expected.history);
  expect(actual!.meta).toEqual(expected.meta);
  for (const [a, b] of [[actual!.weights, expected.weights], [actual!.optimizer, expected.optimizer], [actual!.best!.weights, expected.best!.weights]] as const) {
    expect(a.map((t) => [t.name, t.shape, t.dtype, Array.from(t.data)])).toEqual(b.map((t) => [t.name, t.shape, t.dtype, Array.from(t.data)]));
  }
  expect(actual!.optimizer[0].data).toBeInstanceOf(Int32Array);
  expect(actual!.best!.valLoss).toBe(expected.best!.valLoss);
}

describe('checkpoint store in a local folder', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'ckpt-')); });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  test('an empty location has no checkpoint', async () => {
    await expect(createCheckpointStore(join(dir, 'none')).load()).resolves.toBeUndefined();
  });

  test('a new store instance (a restarted process) reads the latest save; older data files are removed', async () => {
    const writer = createCheckpointStore(dir);
    await writer.save(state(1));
    await writer.save(state(2));
    expectSameState(await createCheckpointStore(dir).load(), state(2));
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(files.some((f) => f.includes('.partial-'))).toBe(false);
  });

  test('a save from a restarted process replaces the previous data file too', async () => {
    await createCheckpointStore(dir).save(state(1));
    await createCheckpointStore(dir).save(state(2));
    expect((await readdir(dir)).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
  });

  test('a NaN loss survives the JSON manifest', async () => {
    const diverged = { ...state(1), history: [{ ...record(1, Number.NaN), loss: Number.NaN }] };
    await createCheckpointStore(dir).save(diverged);
    const loaded = await createCheckpointStore(dir).load();
    expect(loaded!.history[0].loss).toBeNaN();
    expect(loaded!.history[0].val_loss).toBeNaN();
  });

  test('damaged data is reported with the location and how to start over', async () => {
    await createCheckpointStore(dir).save(state(1));
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST_NAME), 'utf8'));
    await writeFile(join(dir, manifest.data.file), Buffer.alloc(manifest.data.bytes));
    const load = createCheckpointStore(dir).load();
    await expect(load).rejects.toThrow(UserError);
    await expect(createCheckpointStore(dir).load()).rejects.toThrow(/damaged; delete .*ckpt-/);
  });

  test('a manifest from something else is refused, not half-read', async () => {
    await writeFile(join(dir, MANIFEST_NAME), '{"format":"other"}');
    await expect(createCheckpointStore(dir, { flag: '--checkpoint-uri' }).load()).rejects.toThrow(/--checkpoint-uri: .* is not a checkpoint/);
  });
});

describe('checkpoint store in S3 (s3rver on loopback)', () => {
  let s3: FakeS3;
  beforeAll(async () => { s3 = await startFakeS3(); });
  afterAll(async () => s3.stop());

  test('round trip through s3://bucket/prefix/, resuming from a new instance', async () => {
    const uri = `s3://${s3.bucket}/checkpoints/run-7/`;
    await expect(createCheckpointStore(uri).load()).resolves.toBeUndefined();
    await createCheckpointStore(uri).save(state(1));
    const writer = createCheckpointStore(uri);
    await writer.save(state(2));
    await writer.save(state(3));
    expectSameState(await createCheckpointStore(uri).load(), state(3));
  });

  test('an unknown bucket is a clear error naming the option and the location', async () => {
    await expect(createCheckpointStore('s3://no-such-bucket-here/x').save(state(1))).rejects.toThrow(/--checkpoint-uri: writing s3:\/\/no-such-bucket-here\/x\//);
  });
});
