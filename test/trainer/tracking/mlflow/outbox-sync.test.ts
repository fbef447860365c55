import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { registerSyncCommand, syncRunFolders } from '../../../../trainer/src/cli/commands/sync';
import { UserError } from '../../../../trainer/src/user-error';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import { MlflowOutboxError, syncCommand } from '../../../../trainer/src/tracking/mlflow/mlflow-tracker';
import { readOutbox } from '../../../../trainer/src/tracking/mlflow/outbox';
import { type CuttableProxy, startCuttableProxy } from '../../../support/cuttable-proxy';
import { describeRealMlflow, uniqueName } from '../../../support/real-mlflow';
import { DATASET, makeRunFolder, makeTracker, runStart } from './tracker-fixtures';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mlflow-outbox-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const quiet = () => undefined;
const exists = (file: string) => access(file).then(() => true, () => false);

describeRealMlflow('outbox and sync', (mlflow) => {
  // The real server behind a line the test cuts: it goes away and comes back with what it held.
  let proxy: CuttableProxy;
  const client = new MlflowClient(mlflow.connection());
  beforeEach(async () => {
    proxy = await startCuttableProxy(mlflow.url);
  });
  afterEach(() => proxy.close());

  /** MLflow variables for sync, with quick retries. */
  const syncEnv = (url = proxy.url) => ({
    ...mlflow.trackingEnv(),
    MLFLOW_TRACKING_URI: url,
    MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1',
    MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0.005',
    MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: '0',
  });
  const names = () => ({ experimentName: uniqueName('outbox'), registerModel: uniqueName('malaria') });

  test('down at the end: endRun keeps the rest in the run folder and gives a command to paste; sync sends it', async () => {
    const { runDir, modelDir } = await makeRunFolder(work, 'r1');
    const { experimentName, registerModel } = names();
    const { tracker } = makeTracker(mlflow.connection({ trackingUri: proxy.url }), { experimentName, registerModel });
    await tracker.startRun(runStart(runDir));
    await tracker.logDataset(DATASET);
    await tracker.logMetrics({ loss: 0.9 }, 1);
    await proxy.down();
    await tracker.logMetrics({ loss: 0.8, val_auc: Number.NaN }, 2);
    const ended = tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.91 }, modelDir });
    const error = (await ended.catch((e: unknown) => e)) as MlflowOutboxError;
    const file = path.join(runDir, 'mlflow-outbox.jsonl');
    expect(error).toBeInstanceOf(MlflowOutboxError);
    expect(error).toBeInstanceOf(UserError);
    expect(error.outboxFile).toBe(file);
    expect(error.message).toContain(`MLflow did not receive 6 logging call(s) of this run; they are kept in ${file}`);
    expect(error.message).toContain(`Send them later with:\n  npm run sync -- ${runDir}`);

    const outbox = await readOutbox(file);
    expect(outbox.header).toMatchObject({ outbox: 2, trackingUri: proxy.url, experimentName, runId: tracker.runId });
    expect(outbox.entries.map((e) => e.op.op)).toEqual(['metrics', 'metrics', 'artifacts', 'model', 'register', 'finish']);
    expect(outbox.entries[0].error).toMatch(/ECONNREFUSED|socket hang up/);
    // NaN survives the file (as protobuf's "NaN").
    expect((await readFile(file, 'utf8')).split('\n')[1]).toContain('"value":"NaN"');

    await proxy.up();
    const [result] = await syncRunFolders([runDir], syncEnv(), quiet);
    expect(result.remaining).toBe(0);
    expect(Object.fromEntries(result.sent)).toEqual({ metrics: 2, artifacts: 1, model: 1, register: 1, finish: 1 });
    expect(await exists(file)).toBe(false);
    const runId = tracker.runId as string;
    const run = await client.getRun(runId);
    expect(run.info.status).toBe('FINISHED');
    expect((await client.getMetricHistory(runId, 'loss')).map((m) => m.step)).toEqual([1, 2]);
    expect((await client.getMetricHistory(runId, 'val_auc'))[0].value).toBeNaN();
    const [{ model_id: modelId }] = run.outputs.model_outputs;
    expect((await client.getLoggedModel(modelId)).info.status).toBe('LOGGED_MODEL_READY');
    expect((await client.getLoggedModel(modelId)).data.metrics).toEqual([expect.objectContaining({ key: 'test_auc', value: 0.91, dataset_name: DATASET.name })]);
    expect(await client.getModelVersionByAlias(registerModel, 'champion')).toMatchObject({ version: '1', source: `models:/${modelId}` });
    expect((await client.listArtifacts(runId)).files.map((f) => f.path)).not.toContain('mlflow-outbox.jsonl');

    const said: string[] = [];
    await expect(syncRunFolders([runDir], syncEnv(), (line) => said.push(line))).resolves.toEqual([]);
    expect(said).toEqual([`nothing to send: ${runDir} has no mlflow-outbox.jsonl; MLflow has everything`]);
  });

  test('never reachable: the outbox starts with the run itself, and sync (the CLI command) creates it', async () => {
    const { runDir, modelDir } = await makeRunFolder(work, 'offline');
    const { experimentName, registerModel } = names();
    await proxy.down();
    const { tracker } = makeTracker(mlflow.connection({ trackingUri: proxy.url }), { experimentName, registerModel });
    await tracker.startRun(runStart(runDir));
    await tracker.logParams({ epochs: 2 });
    await tracker.logDataset(DATASET);
    await tracker.logMetrics({ loss: 0.9 }, 1);
    await expect(tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.8 }, modelDir })).rejects.toThrow(MlflowOutboxError);
    const outbox = await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'));
    expect(outbox.header.runId).toBeNull();
    expect(outbox.entries.map((e) => e.op.op)).toEqual(['start', 'params', 'dataset', 'metrics', 'metrics', 'artifacts', 'model', 'register', 'finish']);

    // Still down: sync says so, keeps the file, and says what to run once the cause is fixed.
    const stillDown = syncRunFolders([runDir], syncEnv(), quiet);
    await expect(stillDown).rejects.toThrow(
      new RegExp(`MLflow did not take everything:\\n.*9 call\\(s\\) left\\n  start: .*(ECONNREFUSED|socket hang up)[\\s\\S]*send the rest with:\\n  npm run sync -- ${runDir}$`),
    );
    // Tracking data left unsent: exit 1, as the README says.
    await expect(stillDown).rejects.toMatchObject({ exitCode: 1 });
    expect((await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'))).entries).toHaveLength(9);

    await proxy.up();
    const program = new Command().exitOverride();
    registerSyncCommand(program);
    const saved = { ...process.env };
    Object.assign(process.env, syncEnv());
    try {
      await program.parseAsync(['node', 'main', 'sync', runDir]);
    } finally {
      process.env = saved;
    }
    const experiment = await client.getExperimentByName(experimentName);
    const [run] = (await client.searchRuns([experiment?.experiment_id ?? ''])).items;
    expect(run.info).toMatchObject({ run_name: 'offline', status: 'FINISHED' });
    expect(run.data.params).toEqual([{ key: 'epochs', value: '2' }]);
    expect(run.inputs.dataset_inputs).toHaveLength(1);
    expect(run.outputs.model_outputs).toHaveLength(1);
    expect(await exists(path.join(runDir, 'mlflow-outbox.jsonl'))).toBe(false);
  });

  test('a param conflict does not stop training; it is reported at the end and kept in the outbox', async () => {
    const { runDir } = await makeRunFolder(work, 'conflict');
    const { tracker, lines } = makeTracker(mlflow.connection(), names());
    await tracker.startRun(runStart(runDir));
    await tracker.logParams({ lr: 0.001 });
    await tracker.logParams({ lr: 0.01 });
    await tracker.logMetrics({ loss: 0.5 }, 1);
    expect(lines.join('\n')).toMatch(/warning: MLflow rejected params: MLflow rejected POST .*\(HTTP 400 INVALID_PARAMETER_VALUE\): Changing param values is not allowed.*\n  it is kept for the outbox; training goes on/);
    const ended = tracker.endRun({ status: 'FINISHED' });
    await expect(ended).rejects.toThrow(/MLflow did not receive 1 logging call\(s\)[\s\S]*params: .*Changing param values is not allowed/);
    const run = await client.getRun(tracker.runId as string);
    expect(run.info.status).toBe('FINISHED');
    expect(run.data.metrics).toHaveLength(1);
    const outbox = await readOutbox(path.join(runDir, 'mlflow-outbox.jsonl'));
    expect(outbox.entries).toEqual([{ op: { op: 'params', params: { lr: '0.01' } }, error: expect.stringContaining('Changing param values') }]);
  });

  test('a second failed end never overwrites the first outbox; sync sends both', async () => {
    const { runDir } = await makeRunFolder(work, 'twice');
    const { experimentName } = names();
    await proxy.down();
    for (let i = 0; i < 2; i++) {
      const { tracker } = makeTracker(mlflow.connection({ trackingUri: proxy.url }), { experimentName });
      await tracker.startRun(runStart(runDir));
      await expect(tracker.endRun({ status: 'KILLED' })).rejects.toThrow(MlflowOutboxError);
    }
    expect(await exists(path.join(runDir, 'mlflow-outbox.jsonl'))).toBe(true);
    expect(await exists(path.join(runDir, 'mlflow-outbox-2.jsonl'))).toBe(true);
    const results = await syncRunFolders([runDir], syncEnv(mlflow.url), quiet);
    expect(results.map((r) => path.basename(r.file))).toEqual(['mlflow-outbox.jsonl', 'mlflow-outbox-2.jsonl']);
    const experiment = await client.getExperimentByName(experimentName);
    expect((await client.searchRuns([experiment?.experiment_id ?? ''])).items.map((r) => r.info.status)).toEqual(['KILLED', 'KILLED']);
  });
});

describe('sync input', () => {
  test('a file that is not an outbox is named with its line', async () => {
    const { runDir } = await makeRunFolder(work, 'broken');
    await writeFile(path.join(runDir, 'mlflow-outbox.jsonl'), '{"outbox":1}\n');
    await expect(syncRunFolders([runDir], { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' }, quiet)).rejects.toThrow(/mlflow-outbox\.jsonl line 1: bad header/);
  });

  test('a folder that is missing, or not a run folder, is an error naming it', async () => {
    await expect(syncRunFolders([path.join(work, 'nope')], {}, quiet)).rejects.toThrow(`${path.join(work, 'nope')}: no such run folder`);
    await mkdir(path.join(work, 'plain'));
    await expect(syncRunFolders([path.join(work, 'plain')], {}, quiet)).rejects.toThrow(/plain is not a run folder \(it has no run\.json\)/);
  });

  test('an outbox of the first format (the model sent with the run files) still sends the model', async () => {
    const { runDir } = await makeRunFolder(work, 'v1');
    const file = path.join(runDir, 'mlflow-outbox.jsonl');
    await writeFile(file, `${JSON.stringify({ outbox: 1, trackingUri: 'http://x', experimentName: 'e', runId: 'r', savedAt: 'now' })}\n${JSON.stringify({ op: 'artifacts', runDir: '.', modelDir: 'model' })}\n`);
    expect((await readOutbox(file)).entries.map((e) => e.op)).toEqual([
      { op: 'artifacts', runDir: '.', modelDir: 'model' },
      { op: 'model', modelDir: 'model', step: 0, timestamp: expect.any(Number), metrics: {} },
    ]);
  });

  test.each([
    ['runs/20261125-101500-compact', 'npm run sync -- runs/20261125-101500-compact'],
    ["/home/me/my runs/it's", "npm run sync -- '/home/me/my runs/it'\\''s'"],
  ])('the sync hint for %s can be pasted into a shell', (dir, command) => {
    expect(syncCommand(dir)).toBe(command);
  });
});
