import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../../trainer/src/user-error';
import { createMlflowTrackerFromEnv } from '../../../../trainer/src/tracking/mlflow/create-tracker';
import { MlflowAuthError } from '../../../../trainer/src/tracking/mlflow/errors';
import { LOGGED_MODELS_TAG } from '../../../../trainer/src/tracking/mlflow/op-sender';
import { type FakeMlflow, type FakeRun, startFakeMlflow } from '../../../support/fake-mlflow';
import { DATASET, IMAGE_SIZE, makeRunFolder, makeTracker, runStart } from './tracker-fixtures';

const API = '/api/2.0/mlflow';

let work: string;
let server: FakeMlflow;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mlflow-tracker-'));
  server = await startFakeMlflow();
});
afterEach(async () => {
  await server.close();
  await rm(work, { recursive: true, force: true });
});

const onlyRun = (): FakeRun => {
  const runs = [...server.state.runs.values()];
  expect(runs).toHaveLength(1);
  return runs[0];
};
const steps = (run: FakeRun, key: string) => run.metrics.filter((m) => m.key === key).map((m) => m.step);

async function trainedRun(name: string, testAuc: number) {
  const { runDir, modelDir } = await makeRunFolder(work, name);
  const { tracker } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logMetrics({ loss: 0.5 }, 1);
  await tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: testAuc }, modelDir });
  return tracker.runId;
}

test('a whole run: system tags, params, per-epoch metrics, dataset, files, model, registry, FINISHED', async () => {
  const { runDir, modelDir } = await makeRunFolder(work, 'run-1');
  const { tracker, lines } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logParams({ epochs: 3, learningRate: 0.001, augment: false, model: 'micro' });
  await tracker.logDataset(DATASET);
  for (const epoch of [1, 2, 3]) await tracker.logMetrics({ loss: 1 / epoch, val_loss: 1.1 / epoch, learning_rate: 0.001 }, epoch);
  await tracker.setTags({ parameter_count: '1234' });
  await tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.93, test_accuracy: 0.88 }, modelDir });

  const run = onlyRun();
  expect(tracker.runId).toBe(run.info.run_id);
  expect(run.info).toMatchObject({ run_name: 'run-1', user_id: 'tester', status: 'FINISHED', end_time: expect.any(Number) });
  expect(Object.fromEntries(run.tags)).toMatchObject({
    'mlflow.runName': 'run-1',
    'mlflow.user': 'tester',
    'mlflow.source.name': 'main.ts',
    'mlflow.source.type': 'LOCAL',
    'mlflow.source.git.commit': '0123abcd',
    'mlflow.note.content': 'Trains micro on synthetic cells (run-1).',
    model: 'micro',
    backend: 'cpu',
    parameter_count: '1234',
  });
  expect(Object.fromEntries(run.params)).toEqual({ epochs: '3', learningRate: '0.001', augment: 'false', model: 'micro' });
  expect(steps(run, 'loss')).toEqual([1, 2, 3]);
  expect(run.metrics.find((m) => m.key === 'test_auc')).toMatchObject({ value: 0.93, step: 3 });
  expect(run.inputs).toHaveLength(1);
  expect(run.inputs[0].dataset).toMatchObject({ name: 'nih-malaria', digest: 'a'.repeat(36), source_type: 'code' });
  expect(JSON.parse(run.inputs[0].dataset.profile ?? '{}')).toMatchObject({ num_rows: 40, train_rows: 32, validation_rows: 4, test_rows: 4, split_digest: 'b'.repeat(64) });

  const prefix = `${run.info.experiment_id}/${run.info.run_id}/artifacts/`;
  const files = [...server.state.artifacts.keys()].map((k) => k.slice(prefix.length)).sort();
  expect(files).toEqual([
    'metrics.jsonl',
    'model/MLmodel',
    'model/group1-shard1of1.bin',
    'model/input_example.json',
    'model/model.json',
    'model/preprocessing.json',
    'plots/loss.png',
    'report.html',
  ]);
  const mlmodel = server.state.artifacts.get(`${prefix}model/MLmodel`)?.toString() ?? '';
  expect(mlmodel).toContain('  tfjs:\n    format: tfjs-layers\n    model_file: model.json');
  expect(mlmodel).toContain(`run_id: ${run.info.run_id}`);
  expect(mlmodel).toContain(`"shape": [-1, ${IMAGE_SIZE}, ${IMAGE_SIZE}, 3]`.replace(/ /g, ''));
  const example = JSON.parse(server.state.artifacts.get(`${prefix}model/input_example.json`)?.toString() ?? '{}') as { inputs: number[][][][] };
  expect([example.inputs.length, example.inputs[0].length, example.inputs[0][0].length, example.inputs[0][0][0].length]).toEqual([1, IMAGE_SIZE, IMAGE_SIZE, 3]);
  const history = JSON.parse(run.tags.get(LOGGED_MODELS_TAG) ?? '[]') as { artifact_path: string; run_id: string; flavors: { tfjs: { format: string } } }[];
  expect(history).toEqual([expect.objectContaining({ artifact_path: 'model', run_id: run.info.run_id, flavors: { tfjs: expect.objectContaining({ format: 'tfjs-layers' }) } })]);

  const model = server.state.models.get('malaria-classifier');
  expect(model?.versions.map((v) => [v.version, v.source, v.run_id, v.status])).toEqual([['1', `runs:/${run.info.run_id}/model`, run.info.run_id, 'READY']]);
  expect(model?.aliases.get('champion')).toBe('1');
  // The run ends after everything else is in.
  const last = server.state.requests[server.state.requests.length - 1];
  expect(`${last.method} ${last.path}`).toBe(`POST ${API}/runs/update`);
  expect(lines.join('\n')).toMatch(/alias 'champion' now points at version 1: no current champion with test_auc/);
});

test('the champion alias moves only to a version whose test metric beats the champion', async () => {
  await server.close();
  server = await startFakeMlflow({ pendingRegistrationPolls: 2 });
  const first = await trainedRun('a', 0.9);
  const worse = await trainedRun('b', 0.85);
  const model = () => server.state.models.get('malaria-classifier');
  expect(model()?.versions.map((v) => v.run_id)).toEqual([first, worse]);
  expect(model()?.aliases.get('champion')).toBe('1');
  await trainedRun('c', 0.95);
  expect(model()?.aliases.get('champion')).toBe('3');
  expect(model()?.versions.every((v) => v.status === 'READY')).toBe(true);
});

test('FAILED keeps the error in a tag and registers nothing; KILLED is recorded', async () => {
  const { runDir, modelDir } = await makeRunFolder(work, 'failed');
  const { tracker } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.endRun({ status: 'FAILED', error: 'out of memory in epoch 2', modelDir });
  expect(onlyRun().info.status).toBe('FAILED');
  expect(onlyRun().tags.get('error_message')).toBe('out of memory in epoch 2');
  expect(server.state.models.size).toBe(0);

  const killed = await makeRunFolder(work, 'killed');
  const second = makeTracker(server.url);
  await second.tracker.startRun(runStart(killed.runDir));
  await second.tracker.endRun({ status: 'KILLED' });
  expect(server.state.runs.get(second.tracker.runId ?? '')?.info.status).toBe('KILLED');
});

test('server down at start: training goes on, everything is sent in order once it is back', async () => {
  const { runDir } = await makeRunFolder(work, 'late');
  await server.down();
  const { tracker, lines } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logParams({ epochs: 3 });
  await tracker.logMetrics({ loss: 0.9 }, 1);
  expect(tracker.runId).toBeUndefined();
  expect(tracker.pending).toBe(3);
  expect(lines.join('\n')).toMatch(/training goes on; 1 logging call\(s\) wait/);
  await server.up();
  await tracker.logMetrics({ loss: 0.5 }, 2);
  expect(tracker.pending).toBe(0);
  const sent = server.state.requests.filter((r) => r.status === 200 && r.method === 'POST').map((r) => r.path.replace(`${API}/`, ''));
  expect(sent).toEqual(['experiments/create', 'runs/create', 'runs/log-batch', 'runs/log-batch', 'runs/log-batch']);
  expect(steps(onlyRun(), 'loss')).toEqual([1, 2]);
  expect(lines.join('\n')).toMatch(/MLflow server answers again: queued calls sent/);
});

test('an outage mid-run: calls queue during it and arrive in call order after it', async () => {
  const { runDir } = await makeRunFolder(work, 'outage');
  const { tracker } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  await tracker.logMetrics({ loss: 0.9 }, 1);
  await server.down();
  await tracker.logMetrics({ loss: 0.8 }, 2);
  await tracker.setTags({ note: 'during outage' });
  await tracker.logMetrics({ loss: 0.7 }, 3);
  expect(tracker.pending).toBe(3);
  await server.up();
  await tracker.logMetrics({ loss: 0.6 }, 4);
  const run = onlyRun();
  expect(steps(run, 'loss')).toEqual([1, 2, 3, 4]);
  expect(run.tags.get('note')).toBe('during outage');
  const batches = server.requestsTo(`POST ${API}/runs/log-batch`).filter((r) => r.status === 200);
  const order = batches.map((r) => {
    const body = r.body as { metrics: { step: number }[]; tags: { key: string }[] };
    return body.metrics.length ? `m${body.metrics[0].step}` : `t:${body.tags[0].key}`;
  });
  expect(order).toEqual(['m1', 'm2', 't:note', 'm3', 'm4']);
});

test('500s during training are retried in place: nothing is queued', async () => {
  const { runDir } = await makeRunFolder(work, 'flaky');
  const { tracker, lines } = makeTracker(server.url);
  await tracker.startRun(runStart(runDir));
  server.failNext(2, { status: 500, pathIncludes: 'log-batch' });
  await tracker.logMetrics({ loss: 0.9 }, 1);
  expect(tracker.pending).toBe(0);
  expect(server.requestsTo(`POST ${API}/runs/log-batch`).map((r) => r.status)).toEqual([500, 500, 200]);
  expect(lines.join('\n')).not.toMatch(/warning/);
});

test('401 at start is a UserError naming the variables, before any training', async () => {
  await server.close();
  server = await startFakeMlflow({ users: { admin: { password: 'pw', permission: 'EDIT' } } });
  const { runDir } = await makeRunFolder(work, 'auth');
  const { tracker } = makeTracker(server.url);
  const started = tracker.startRun(runStart(runDir));
  await expect(started).rejects.toThrow(MlflowAuthError);
  await expect(started).rejects.toThrow(/Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD \(basic auth\) or MLFLOW_TRACKING_TOKEN/);
});

test('resumeRunId continues the same run (spot resume); a deleted run cannot be resumed', async () => {
  const { runDir } = await makeRunFolder(work, 'spot');
  const first = makeTracker(server.url);
  await first.tracker.startRun(runStart(runDir));
  await first.tracker.logParams({ epochs: 3 });
  await first.tracker.logMetrics({ loss: 0.9 }, 1);
  // The instance is reclaimed here: no endRun.
  const resumed = makeTracker(server.url, { resumeRunId: first.tracker.runId });
  await resumed.tracker.startRun(runStart(runDir));
  await resumed.tracker.logParams({ epochs: 3 });
  await resumed.tracker.logMetrics({ loss: 0.8 }, 2);
  await resumed.tracker.endRun({ status: 'FINISHED' });
  const run = onlyRun();
  expect(resumed.tracker.runId).toBe(run.info.run_id);
  expect(steps(run, 'loss')).toEqual([1, 2]);
  expect(run.info.status).toBe('FINISHED');

  await fetch(`${server.url}${API}/runs/delete`, { method: 'POST', body: JSON.stringify({ run_id: run.info.run_id }) });
  const again = makeTracker(server.url, { resumeRunId: run.info.run_id });
  const start = again.tracker.startRun(runStart(runDir));
  await expect(start).rejects.toThrow(UserError);
  await expect(start).rejects.toThrow(`MLflow run ${run.info.run_id} is deleted: it cannot be resumed`);
});

describe('createMlflowTrackerFromEnv', () => {
  test('no MLFLOW_TRACKING_URI: no tracker', () => {
    expect(createMlflowTrackerFromEnv({})).toBeUndefined();
  });

  test('logs to the experiment in MLFLOW_EXPERIMENT_NAME with the options given', async () => {
    const { runDir } = await makeRunFolder(work, 'env');
    const tracker = createMlflowTrackerFromEnv(
      { MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'from-env', GIT_COMMIT: 'feedbeef' },
      { user: 'ci', sourceName: 'malaria-trainer', sourceType: 'JOB', log: () => undefined },
    );
    await tracker?.startRun(runStart(runDir));
    const run = onlyRun();
    expect(server.state.experiments.get(run.info.experiment_id)?.name).toBe('from-env');
    expect(Object.fromEntries(run.tags)).toMatchObject({ 'mlflow.user': 'ci', 'mlflow.source.type': 'JOB', 'mlflow.source.git.commit': 'feedbeef' });
  });
});
