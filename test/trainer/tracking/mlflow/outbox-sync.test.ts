import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerSyncCommand, syncRunFolders } from '../../../../trainer/src/cli/commands/sync';
import { UserError } from '../../../../trainer/src/user-error';
import { MlflowOutboxError } from '../../../../trainer/src/tracking/mlflow/mlflow-tracker';
import { readOutbox } from '../../../../trainer/src/tracking/mlflow/outbox';
import { type FakeMlflow, startFakeMlflow } from '../../../support/fake-mlflow';
import { DATASET, makeRunFolder, makeTracker, runStart } from './tracker-fixtures';

let work: string;
let server: FakeMlflow;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mlflow-outbox-'));
  server = await startFakeMlflow();
});
afterEach(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

/** MLflow variables for sync, with quick retries. */
const syncEnv = () => ({
  MLFLOW_TRACKING_URI: server.url,
  MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
  MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.005',
  MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0',
});
const quiet = () => undefined;
const exists = (file: string) => access(file).then(() => true, () => false);

test('down at the end: endRun keeps the rest in the run folder and says so; sync sends it', async () => {
  const { runDir, modelDir } = await makeRunFolder(work, 'r1');
  const { tracker } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logMetrics({ loss: 0.9 }, 1);
  await server.down();
  await tracker.logMetrics({ loss: 0.8, val_auc: Number.NaN }, 2);
  const ended = tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.91 }, modelDir });
  await expect(ended).rejects.toThrow(MlflowOutboxError);
  const error = (await ended.catch((e: unknown) => e)) as MlflowOutboxError;
  const file = path.join(runDir, 'mlflow-outbox.jsonl');
  expect(error).toBeInstanceOf(UserError);
  expect(error.outboxFile).toBe(file);
  expect(error.message).toContain(`MLflow did not receive 5 logging call(s) of this run; they are kept in ${file}`);
  expect(error.message).toContain(`Send them later with: sync ${runDir}`);

  const outbox = await readOutbox(file);
  expect(outbox.header).toMatchObject({ outbox: 1, trackingUri: server.url, experimentName: 'malaria', runId: tracker.runId });
  expect(outbox.entries.map((e) => e.op.op)).toEqual(['metrics', 'metrics', 'artifacts', 'register', 'finish']);
  expect(outbox.entries[0].error).toMatch(/ECONNREFUSED/);
  // NaN survives the file (as protobuf's "NaN").
  expect((await readFile(file, 'utf8')).split('\n')[1]).toContain('"value":"NaN"');

  await server.up();
  const [result] = await syncRunFolders([runDir], syncEnv(), quiet);
  expect(result.remaining).toBe(0);
  expect(Object.fromEntries(result.sent)).toEqual({ metrics: 2, artifacts: 1, register: 1, finish: 1 });
  expect(await exists(file)).toBe(false);
  const run = server.state.runs.get(tracker.runId ?? '');
  expect(run?.info.status).toBe('FINISHED');
  expect(run?.metrics.filter((m) => m.key === 'loss').map((m) => m.step)).toEqual([1, 2]);
  expect(run?.metrics.find((m) => m.key === 'val_auc')?.value).toBeNaN();
  expect(server.state.models.get('malaria-classifier')?.aliases.get('champion')).toBe('1');
  expect([...server.state.artifacts.keys()].some((k) => k.endsWith('/model/MLmodel'))).toBe(true);
  expect([...server.state.artifacts.keys()].some((k) => k.includes('mlflow-outbox'))).toBe(false);

  await expect(syncRunFolders([runDir], syncEnv(), quiet)).rejects.toThrow(/nothing to sync: no mlflow-outbox\.jsonl in /);
});

test('never reachable: the outbox starts with the run itself, and sync creates it', async () => {
  const { runDir } = await makeRunFolder(work, 'offline');
  await server.down();
  const { tracker } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logParams({ epochs: 2 });
  await tracker.logDataset(DATASET);
  await tracker.logMetrics({ loss: 0.9 }, 1);
  await expect(tracker.endRun({ status: 'FINISHED' })).rejects.toThrow(MlflowOutboxError);
  const outbox = await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'));
  expect(outbox.header.runId).toBeNull();
  expect(outbox.entries.map((e) => e.op.op)).toEqual(['start', 'params', 'dataset', 'metrics', 'artifacts', 'finish']);

  // Still down: sync says so, keeps the file and exits non-zero.
  await expect(syncRunFolders([runDir], syncEnv(), quiet)).rejects.toThrow(/MLflow did not take everything; run sync again once the cause is fixed:\n.*6 call\(s\) left\n  start: .*ECONNREFUSED/);
  expect((await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'))).entries).toHaveLength(6);

  await server.up();
  const program = new Command().exitOverride();
  registerSyncCommand(program);
  const saved = { ...process.env };
  Object.assign(process.env, syncEnv());
  try {
    await program.parseAsync(['node', 'main', 'sync', runDir]);
  } finally {
    process.env = saved;
  }
  const run = [...server.state.runs.values()][0];
  expect(run.info).toMatchObject({ run_name: 'offline', status: 'FINISHED' });
  expect(run.params.get('epochs')).toBe('2');
  expect(run.inputs).toHaveLength(1);
  expect(await exists(path.join(runDir, 'mlflow-outbox.jsonl'))).toBe(false);
});

test('a param conflict does not stop training; it is reported at the end and kept in the outbox', async () => {
  const { runDir } = await makeRunFolder(work, 'conflict');
  const { tracker, lines } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logParams({ lr: 0.001 });
  await tracker.logParams({ lr: 0.01 });
  await tracker.logMetrics({ loss: 0.5 }, 1);
  expect(lines.join('\n')).toMatch(/warning: MLflow rejected params: MLflow rejected POST .*\(HTTP 400 INVALID_PARAMETER_VALUE\): Changing param values is not allowed/);
  const ended = tracker.endRun({ status: 'FINISHED' });
  await expect(ended).rejects.toThrow(/MLflow did not receive 1 logging call\(s\)[\s\S]*params: .*Param with key='lr' was already logged with value='0.001'/);
  const run = [...server.state.runs.values()][0];
  expect(run.info.status).toBe('FINISHED');
  expect(run.metrics).toHaveLength(1);
  const outbox = await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'));
  expect(outbox.entries).toEqual([{ op: { op: 'params', params: { lr: '0.01' } }, error: expect.stringContaining('Changing param values') }]);
});

test('a second failed end never overwrites the first outbox', async () => {
  const { runDir } = await makeRunFolder(work, 'twice');
  await server.down();
  for (let i = 0; i < 2; i++) {
    const { tracker } = makeTracker(server.url);
    await tracker.startRun(runStart(runDir));
    await expect(tracker.endRun({ status: 'KILLED' })).rejects.toThrow(MlflowOutboxError);
  }
  expect(await exists(path.join(runDir, 'mlflow-outbox.jsonl'))).toBe(true);
  expect(await exists(path.join(runDir, 'mlflow-outbox-2.jsonl'))).toBe(true);
  await server.up();
  const results = await syncRunFolders([runDir], syncEnv(), quiet);
  expect(results.map((r) => path.basename(r.file))).toEqual(['mlflow-outbox.jsonl', 'mlflow-outbox-2.jsonl']);
  expect(server.state.runs.size).toBe(2);
});

test('a file that is not an outbox is named with its line', async () => {
  const { runDir } = await makeRunFolder(work, 'broken');
  await require('node:fs/promises').writeFile(path.join(runDir, 'mlflow-outbox.jsonl'), '{"outbox":1}\n');
  await expect(syncRunFolders([runDir], syncEnv(), quiet)).rejects.toThrow(/mlflow-outbox\.jsonl line 1: bad header/);
});
