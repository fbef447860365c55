import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../../trainer/src/user-error';
import { downloadArtifacts } from '../../../../trainer/src/tracking/mlflow/artifacts/download';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import { createMlflowTrackerFromEnv } from '../../../../trainer/src/tracking/mlflow/create-tracker';
import { MlflowAuthError } from '../../../../trainer/src/tracking/mlflow/errors';
import { LOGGED_MODELS_TAG } from '../../../../trainer/src/tracking/mlflow/log-model';
import { type FakeMlflow, type FakeRun, startFakeMlflow } from '../../../support/fake-mlflow';
import { fastConnection } from '../../../support/fast-connection';
import { createUser, describeEachRealMlflow, describeRealMlflowAuth, uniqueName } from '../../../support/real-mlflow';
import { DATASET, IMAGE_SIZE, MODEL_CARD, makeRunFolder, makeTracker, runStart } from './tracker-fixtures';

const API = '/api/2.0/mlflow';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mlflow-tracker-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

describeEachRealMlflow('MlflowTracker', (mlflow) => {
  const client = new MlflowClient(mlflow.connection());
  const names = () => ({ experimentName: uniqueName('tracker'), registerModel: uniqueName('malaria') });
  const history = async (runId: string, key: string) => (await client.getMetricHistory(runId, key)).map((m) => m.step);

  test('a whole run: tags, params, history, data set, run files, a READY logged model linked to the run, registered from models:/m-<id>', async () => {
    const { runDir, modelDir } = await makeRunFolder(work, 'run-1');
    const { experimentName, registerModel } = names();
    const { tracker, lines } = makeTracker(mlflow.connection(), { experimentName, registerModel });
    await tracker.startRun(runStart(runDir));
    await tracker.logParams({ epochs: 3, learningRate: 0.001, augment: false, model: 'micro' });
    await tracker.logDataset(DATASET);
    for (const epoch of [1, 2, 3]) await tracker.logMetrics({ loss: 1 / epoch, val_loss: 1.1 / epoch, learning_rate: 0.001 }, epoch);
    await tracker.setTags({ parameter_count: '1234' });
    await tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.93, test_accuracy: 0.88 }, modelDir });

    const runId = tracker.runId as string;
    const run = await client.getRun(runId);
    expect(run.info).toMatchObject({ run_name: 'run-1', user_id: 'tester', status: 'FINISHED', end_time: expect.any(Number) });
    expect(Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]))).toMatchObject({
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
    expect(Object.fromEntries(run.data.params.map((p) => [p.key, p.value]))).toEqual({ epochs: '3', learningRate: '0.001', augment: 'false', model: 'micro' });
    expect(await history(runId, 'loss')).toEqual([1, 2, 3]);
    // Logged on the run, and again with the model: one point, as MLflow keeps identical values once.
    expect(await client.getMetricHistory(runId, 'test_auc')).toEqual([expect.objectContaining({ value: 0.93, step: 3 })]);
    const [input] = run.inputs.dataset_inputs;
    expect(input.dataset).toMatchObject({ name: 'synthetic-cells-40', digest: 'a'.repeat(36), source_type: 'code' });
    expect(JSON.parse(input.dataset.profile ?? '{}')).toMatchObject({ num_rows: 40, train_rows: 32, validation_rows: 4, test_rows: 4, split_digest: 'b'.repeat(64) });

    // The run's files, without the model: that is the logged model's.
    const files = (await client.listArtifacts(runId)).files.map((f) => f.path).sort();
    expect(files).toEqual(['metrics.jsonl', 'plots', 'report.html', 'run.json']);

    // MLflow 3: one logged model, READY, an output of the run at its last epoch.
    expect(run.outputs.model_outputs).toEqual([{ model_id: expect.stringMatching(/^m-[0-9a-f]{32}$/), step: 3 }]);
    const modelId = run.outputs.model_outputs[0].model_id;
    const model = await client.getLoggedModel(modelId);
    expect(model.info).toMatchObject({ name: 'model', status: 'LOGGED_MODEL_READY', source_run_id: runId, model_type: 'image-classifier' });
    expect(model.data.params).toEqual(expect.arrayContaining([{ key: 'epochs', value: '3' }]));
    expect(model.data.metrics).toEqual(expect.arrayContaining([
      expect.objectContaining({ key: 'test_auc', value: 0.93, step: 3, model_id: modelId, dataset_name: 'synthetic-cells-40', dataset_digest: 'a'.repeat(36) }),
    ]));
    const downloaded = await downloadArtifacts(client, `models:/${modelId}`, path.join(work, 'model'));
    const mlmodel = await readFile(path.join(downloaded, 'MLmodel'), 'utf8');
    expect(mlmodel).toContain('  tfjs:\n    format: tfjs-layers\n    model_file: model.json');
    expect(mlmodel).toContain(`model_id: ${modelId}`);
    expect(mlmodel).toContain('  python_function:\n    code: code\n');
    expect(mlmodel).toContain('    loader_module: malaria_mlops_pyfunc\n');
    expect(mlmodel).toContain(`  inputs: '[{"type":"binary","required":true}]'`);
    expect(await readFile(path.join(downloaded, 'group1-shard1of1.bin'))).toEqual(Buffer.alloc(64, 1));
    // What the python_function flavor names travels with the model: its loader, environment and card.
    for (const file of ['code/malaria_mlops_pyfunc/__init__.py', 'code/malaria_mlops_pyfunc/network.py', 'requirements.txt', 'python_env.yaml', 'conda.yaml', 'serving_input_example.json', 'model_card.md']) {
      expect({ file, bytes: (await readFile(path.join(downloaded, file))).length }).toEqual({ file, bytes: expect.any(Number) });
    }
    const example = JSON.parse(await readFile(path.join(downloaded, 'input_example.json'), 'utf8')) as { columns: string[]; data: string[][] };
    const png = Buffer.from(example.data[0][0], 'base64');
    expect([example.columns, png.subarray(1, 4).toString(), png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([['image'], 'PNG', IMAGE_SIZE, IMAGE_SIZE]);
    const logged = JSON.parse(run.data.tags.find((t) => t.key === LOGGED_MODELS_TAG)?.value ?? '[]') as unknown[];
    expect(logged).toEqual([expect.objectContaining({
      run_id: runId, model_id: modelId,
      flavors: { tfjs: expect.objectContaining({ format: 'tfjs-layers' }), python_function: expect.objectContaining({ loader_module: 'malaria_mlops_pyfunc' }) },
    })]);
    // runs:/<run_id>/model, as users know it, reaches the logged model (MLflow 3's rule).
    const byRun = await downloadArtifacts(client, `runs:/${runId}/model`, path.join(work, 'by-run'));
    expect((await readFile(path.join(byRun, 'model.json'), 'utf8'))).toContain('layers-model');

    const versions = (await client.searchModelVersions({ filter: `name='${registerModel}'` })).items;
    expect(versions.map((v) => [v.version, v.source, v.run_id, v.status])).toEqual([['1', `models:/${modelId}`, runId, 'READY']]);
    // The model card is the version's description, after a line on loading this very version.
    const { description } = await client.getModelVersion(registerModel, '1');
    expect(description).toBe(`**${registerModel} version 1**: \`mlflow.pyfunc.load_model("models:/${registerModel}/1")\`, `
      + `\`npm run serve -- --model models:/${registerModel}/1\`.\n\n${MODEL_CARD.trimEnd()}`);
    expect((await client.getModelVersionByAlias(registerModel, 'champion'))?.version).toBe('1');
    expect(lines.join('\n')).toMatch(new RegExp(`logged model ${modelId} \\(READY\\)`));
    expect(lines.join('\n')).toMatch(/alias 'champion' now points at version 1: no current champion with test_auc/);
  });

  test.each([
    // [metric, first, worse, better]: AUC improves upwards, the Brier score and the missed parasites downwards.
    ['test_auc', 0.9, 0.85, 0.95],
    ['test_brier', 0.08, 0.1, 0.05],
    ['test_fn', 12, 15, 7],
  ])('the champion alias moves only to a version whose %s beats the champion', async (championMetric, firstValue, worseValue, betterValue) => {
    const { experimentName, registerModel } = names();
    const said: string[] = [];
    const trained = async (name: string, value: number) => {
      const { runDir, modelDir } = await makeRunFolder(work, name);
      const { tracker, lines } = makeTracker(mlflow.connection(), { experimentName, registerModel, championMetric });
      await tracker.startRun(runStart(runDir));
      await tracker.logMetrics({ loss: 0.5 }, 1);
      await tracker.endRun({ status: 'FINISHED', testMetrics: { [championMetric]: value }, modelDir });
      said.push(...lines);
      return tracker.runId;
    };
    const first = await trained('a', firstValue);
    const worse = await trained('b', worseValue);
    // The message names both values with three decimals, as everywhere else.
    expect(said.join('\n')).toMatch(new RegExp(`alias 'champion' stays on version 1: ${championMetric} \\d+\\.\\d{3} does not beat the champion's \\d+\\.\\d{3}`));
    const champion = async () => (await client.getModelVersionByAlias(registerModel, 'champion'))?.version;
    const versions = async () => (await client.searchModelVersions({ filter: `name='${registerModel}'` })).items.sort((a, b) => Number(a.version) - Number(b.version));
    expect((await versions()).map((v) => v.run_id)).toEqual([first, worse]);
    expect(await champion()).toBe('1');
    await trained('c', betterValue);
    expect(await champion()).toBe('3');
    expect((await versions()).every((v) => v.status === 'READY' && v.source.startsWith('models:/m-'))).toBe(true);
  });

  test('FAILED keeps the error in a tag and registers nothing; KILLED is recorded', async () => {
    const { experimentName, registerModel } = names();
    const { runDir, modelDir } = await makeRunFolder(work, 'failed');
    const { tracker } = makeTracker(mlflow.connection(), { experimentName, registerModel });
    await tracker.startRun(runStart(runDir));
    await tracker.endRun({ status: 'FAILED', error: 'out of memory in epoch 2', modelDir });
    const failed = await client.getRun(tracker.runId as string);
    expect(failed.info.status).toBe('FAILED');
    expect(failed.data.tags).toContainEqual({ key: 'error_message', value: 'out of memory in epoch 2' });
    expect(await client.getRegisteredModel(registerModel)).toBeUndefined();

    const killed = await makeRunFolder(work, 'killed');
    const second = makeTracker(mlflow.connection(), { experimentName, registerModel });
    await second.tracker.startRun(runStart(killed.runDir));
    await second.tracker.endRun({ status: 'KILLED' });
    expect((await client.getRun(second.tracker.runId as string)).info.status).toBe('KILLED');
  });

  test('resumeRunId continues the same run (spot resume); a deleted run cannot be resumed', async () => {
    const { experimentName } = names();
    const { runDir } = await makeRunFolder(work, 'spot');
    const first = makeTracker(mlflow.connection(), { experimentName });
    await first.tracker.startRun(runStart(runDir));
    await first.tracker.logParams({ epochs: 3 });
    await first.tracker.logMetrics({ loss: 0.9 }, 1);
    // The instance is reclaimed here: no endRun.
    const runId = first.tracker.runId as string;
    const resumed = makeTracker(mlflow.connection(), { experimentName, resumeRunId: runId });
    await resumed.tracker.startRun(runStart(runDir));
    expect(await resumed.tracker.lastLoggedStep('loss')).toBe(1);
    await resumed.tracker.logParams({ epochs: 3 });
    await resumed.tracker.logMetrics({ loss: 0.8 }, 2);
    await resumed.tracker.endRun({ status: 'FINISHED' });
    expect(resumed.tracker.runId).toBe(runId);
    expect(await history(runId, 'loss')).toEqual([1, 2]);
    expect((await client.getRun(runId)).info.status).toBe('FINISHED');

    await client.http.request({ method: 'POST', path: `${API}/runs/delete`, json: { run_id: runId } });
    const again = makeTracker(mlflow.connection(), { experimentName, resumeRunId: runId });
    const start = again.tracker.startRun(runStart(runDir));
    await expect(start).rejects.toThrow(UserError);
    await expect(start).rejects.toThrow(`MLflow run ${runId} is deleted: it cannot be resumed`);
  });

  test('createMlflowTrackerFromEnv logs to the experiment in MLFLOW_EXPERIMENT_NAME with the options given', async () => {
    const { runDir } = await makeRunFolder(work, 'env');
    const experimentName = uniqueName('from-env');
    const tracker = createMlflowTrackerFromEnv(
      { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, GIT_COMMIT: 'feedbeef' },
      { user: 'ci', sourceName: 'malaria-trainer', sourceType: 'JOB', log: () => undefined },
    );
    await tracker?.startRun(runStart(runDir));
    const run = await client.getRun(tracker?.runId as string);
    expect((await client.getExperiment(run.info.experiment_id)).name).toBe(experimentName);
    expect(Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]))).toMatchObject({ 'mlflow.user': 'ci', 'mlflow.source.type': 'JOB', 'mlflow.source.git.commit': 'feedbeef' });
  });
});

describeRealMlflowAuth('MlflowTracker and basic-auth', (mlflow) => {
  test('a rejected login at start is a UserError naming the variables, before anything is created', async () => {
    const { runDir } = await makeRunFolder(work, 'auth');
    const { tracker } = makeTracker(mlflow.connection({ auth: { kind: 'basic', username: 'admin', password: 'not-the-password' } }), { experimentName: uniqueName('auth') });
    const started = tracker.startRun(runStart(runDir));
    await expect(started).rejects.toThrow(MlflowAuthError);
    await expect(started).rejects.toThrow(/the credentials of MLFLOW_TRACKING_USERNAME='admin' were rejected\. Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/);
    expect(tracker.runId).toBeUndefined();
  });

  test('a user without EDIT on the experiment gets 403 at start, naming the user and the permission to ask for', async () => {
    const experimentName = uniqueName('shared');
    await new MlflowClient(mlflow.connection()).getOrCreateExperiment(experimentName);
    const reader = uniqueName('reader');
    await createUser(mlflow, reader, 'reader-password-123');
    const { runDir } = await makeRunFolder(work, 'reader');
    const { tracker } = makeTracker(mlflow.connection({ auth: { kind: 'basic', username: reader, password: 'reader-password-123' } }), { experimentName });
    await expect(tracker.startRun(runStart(runDir))).rejects.toThrow(
      new RegExp(`denied user '${reader}' permission for POST /api/2\\.0/mlflow/runs/create \\(403\\)\\. Ask an MLflow admin to grant EDIT`),
    );
  });
});

/**
 * What a real server cannot do on demand: go away, fail with 5xx, or be MLflow 2.x. The fake
 * answers as MLflow 3.11 does from the recorded transcripts, without the logged-model API (as 2.x).
 */
describe('MlflowTracker against the fake server', () => {
  let server: FakeMlflow;
  beforeEach(async () => {
    server = await startFakeMlflow();
  });
  afterEach(() => server.close());

  const onlyRun = (): FakeRun => {
    const runs = [...server.state.runs.values()];
    expect(runs).toHaveLength(1);
    return runs[0];
  };
  const steps = (run: FakeRun, key: string) => run.metrics.filter((m) => m.key === key).map((m) => m.step);

  test('MLflow 2.x (no logged-model API): the model goes to the run\'s model/ and is registered from runs:/<id>/model', async () => {
    const { runDir, modelDir } = await makeRunFolder(work, 'v2');
    const { tracker, lines } = makeTracker(fastConnection(server.url));
    await tracker.startRun(runStart(runDir));
    await tracker.logDataset(DATASET);
    await tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.93 }, modelDir });
    const run = onlyRun();
    const prefix = `${run.info.experiment_id}/${run.info.run_id}/artifacts/`;
    expect([...server.state.artifacts.keys()].map((k) => k.slice(prefix.length)).filter((k) => k.startsWith('model/')).sort()).toEqual([
      'model/MLmodel', 'model/code/malaria_mlops_pyfunc/__init__.py', 'model/code/malaria_mlops_pyfunc/classifier.py',
      'model/code/malaria_mlops_pyfunc/images.py', 'model/code/malaria_mlops_pyfunc/network.py', 'model/code/malaria_mlops_pyfunc/resize.py',
      'model/conda.yaml', 'model/group1-shard1of1.bin', 'model/input_example.json', 'model/model.json', 'model/model_card.md',
      'model/preprocessing.json', 'model/python_env.yaml', 'model/requirements.txt', 'model/serving_input_example.json',
    ]);
    expect(server.state.artifacts.get(`${prefix}model/MLmodel`)?.toString()).not.toContain('model_id:');
    expect(run.metrics.filter((m) => m.key === 'test_auc')).toHaveLength(1);
    const model = server.state.models.get('malaria-classifier');
    expect(model?.versions.map((v) => [v.source, v.status])).toEqual([[`runs:/${run.info.run_id}/model`, 'READY']]);
    expect(lines.join('\n')).toMatch(/the server has no logged-model API \(MLflow 2\.x: .*404.*\); the model goes to the run's artifacts/);
    expect(run.info.status).toBe('FINISHED');
  });

  test('a closed port at start is said at once; training is not held up, and everything goes in order once the server is back', async () => {
    const { runDir } = await makeRunFolder(work, 'late');
    await server.down();
    // Retries that would take minutes: the start must not wait for them.
    const { tracker, lines } = makeTracker(fastConnection(server.url, { maxRetries: 7, backoffFactorMs: 60_000 }), { liveMaxRetries: 7 });
    const t0 = Date.now();
    await tracker.startRun(runStart(runDir));
    await tracker.logParams({ epochs: 3 });
    await tracker.logMetrics({ loss: 0.9 }, 1);
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(tracker.runId).toBeUndefined();
    expect(tracker.pending).toBe(3);
    expect(lines.join('\n')).toMatch(new RegExp(`warning: MLflow server ${server.url} is unreachable \\(.*ECONNREFUSED.*\\)\\n  training goes on; 1 logging call\\(s\\) wait`));
    await server.up();
    await tracker.logMetrics({ loss: 0.5 }, 2);
    expect(tracker.pending).toBe(0);
    const sent = server.state.requests.filter((r) => r.status === 200 && r.method === 'POST').map((r) => r.path.replace(`${API}/`, ''));
    expect(sent).toEqual(['experiments/create', 'runs/create', 'runs/log-batch', 'runs/log-batch', 'runs/log-batch']);
    expect(steps(onlyRun(), 'loss')).toEqual([1, 2]);
    expect(lines.join('\n')).toMatch(/MLflow server answers again: queued calls sent/);
  });

  test('an outage mid-run: each retry is said, calls queue during it and arrive in call order after it', async () => {
    const { runDir } = await makeRunFolder(work, 'outage');
    const { tracker, lines } = makeTracker(fastConnection(server.url));
    await tracker.startRun(runStart(runDir));
    await tracker.logMetrics({ loss: 0.9 }, 1);
    await server.down();
    await tracker.logMetrics({ loss: 0.8 }, 2);
    expect(lines.join('\n')).toMatch(new RegExp(`MLflow server ${server.url} did not answer POST ${API}/runs/log-batch \\(.*(ECONNREFUSED|socket hang up).*\\); attempt 2 of 3 in \\d+ s\\n`));
    expect(lines.join('\n')).not.toMatch(/Ctrl-C skips tracking/);
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

  test('down when training has ended: each retry says when the next comes and that Ctrl-C skips; Ctrl-C stops the wait', async () => {
    const { runDir, modelDir } = await makeRunFolder(work, 'end');
    const stop = new AbortController();
    const { tracker, lines } = makeTracker(fastConnection(server.url, { maxRetries: 7, backoffFactorMs: 60_000 }), { signal: stop.signal });
    await tracker.startRun(runStart(runDir));
    await server.down();
    const t0 = Date.now();
    const ended = tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.9 }, modelDir });
    for (let i = 0; i < 200 && !lines.some((l) => l.includes('Ctrl-C')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(lines.join('\n')).toMatch(/did not answer POST .*\(.*(ECONNREFUSED|socket hang up).*\); attempt 2 of 8 in 60 s; Ctrl-C skips tracking \(the rest stays in the run folder\)/);
    stop.abort();
    await expect(ended).rejects.toThrow(/MLflow did not receive 5 logging call\(s\)[\s\S]*retries skipped[\s\S]*Send them later with:\n  npm run sync -- /);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(lines.join('\n')).not.toMatch(/training goes on/);
  });

  test('500s during training are retried in place: nothing is queued', async () => {
    const { runDir } = await makeRunFolder(work, 'flaky');
    const { tracker, lines } = makeTracker(fastConnection(server.url));
    await tracker.startRun(runStart(runDir));
    server.failNext(2, { status: 500, pathIncludes: 'log-batch' });
    await tracker.logMetrics({ loss: 0.9 }, 1);
    expect(tracker.pending).toBe(0);
    expect(server.requestsTo(`POST ${API}/runs/log-batch`).map((r) => r.status)).toEqual([500, 500, 200]);
    expect(lines.join('\n')).not.toMatch(/warning/);
  });
});

describe('createMlflowTrackerFromEnv', () => {
  test('no MLFLOW_TRACKING_URI: no tracker', () => {
    expect(createMlflowTrackerFromEnv({})).toBeUndefined();
  });
});
