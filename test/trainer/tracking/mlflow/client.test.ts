import { UserError } from '../../../../trainer/src/user-error';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import { MlflowApiError, MlflowAuthError, MlflowUnavailableError } from '../../../../trainer/src/tracking/mlflow/errors';
import type { RetryNotice } from '../../../../trainer/src/tracking/mlflow/http';
import { type FakeMlflow, startFakeMlflow } from '../../../support/fake-mlflow';
import { fastConnection } from '../../../support/fast-connection';
import { createUser, describeEachRealMlflow, describeRealMlflowAuth, uniqueName } from '../../../support/real-mlflow';

const API = '/api/2.0/mlflow';

describeEachRealMlflow('MlflowClient', (mlflow) => {
  const client = new MlflowClient(mlflow.connection());

  async function newRun() {
    const experiment = await client.getOrCreateExperiment(uniqueName('cells'));
    return client.createRun({ experimentId: experiment.experiment_id, runName: 'r', startTime: 1795634003691 });
  }

  test('a real MLflow is recognised as one, whether the experiment exists or not (no false alarm before a run)', async () => {
    const existing = await client.getOrCreateExperiment(uniqueName('known'));
    expect(await client.foreignAnswer(existing.name)).toBeUndefined();
    expect(await client.foreignAnswer(uniqueName('unknown'))).toBeUndefined();
  });

  test('two trainers racing to create the experiment both get it', async () => {
    const name = uniqueName('race');
    const other = new MlflowClient(mlflow.connection());
    const [a, b] = await Promise.all([client.getOrCreateExperiment(name), other.getOrCreateExperiment(name)]);
    expect(a.experiment_id).toBe(b.experiment_id);
    const found = await client.searchExperiments({ filter: `name = '${name}'` });
    expect(found.items).toHaveLength(1);
  });

  test('run lifecycle: create with name and tags, log, finish, read back, search', async () => {
    const experiment = await client.getOrCreateExperiment(uniqueName('cells'));
    expect(experiment.artifact_location).toBe(`mlflow-artifacts:/${experiment.experiment_id}`);
    const run = await client.createRun({
      experimentId: experiment.experiment_id,
      runName: 'smoke-run',
      startTime: 1795634003691,
      userId: 'ts-tester',
      tags: [{ key: 'mlflow.user', value: 'ts-tester' }],
    });
    expect(run.info).toMatchObject({ status: 'RUNNING', run_name: 'smoke-run', artifact_uri: expect.stringMatching(/^mlflow-artifacts:\//) });
    const runId = run.info.run_id;
    expect(await client.logBatch(runId, {
      params: [{ key: 'lr', value: '0.01' }],
      metrics: [0.9, 0.5, 0.25].map((value, step) => ({ key: 'loss', value, timestamp: 1795634003691 + step, step })),
      tags: [{ key: 'stage', value: 'smoke' }],
    })).toBe(1);
    const info = await client.updateRun(runId, { status: 'FINISHED', endTime: 1795634008691 });
    expect(info).toMatchObject({ status: 'FINISHED', end_time: 1795634008691 });
    const read = await client.getRun(runId);
    expect(read.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(read.data.metrics).toEqual([{ key: 'loss', value: 0.25, timestamp: 1795634003693, step: 2 }]);
    expect(read.data.tags).toEqual(expect.arrayContaining([{ key: 'stage', value: 'smoke' }, { key: 'mlflow.runName', value: 'smoke-run' }, { key: 'mlflow.user', value: 'ts-tester' }]));
    const found = await client.searchRuns([experiment.experiment_id], { filter: "metrics.loss < 0.5 and params.lr = '0.01'", orderBy: ['metrics.loss ASC'] });
    expect(found.items.map((r) => r.info.run_id)).toEqual([runId]);
  });

  test('metric history is read in full, over pages (asked with max_results, without which MLflow returns none)', async () => {
    const { info } = await newRun();
    const metrics = Array.from({ length: 2500 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1, step }));
    await client.logBatch(info.run_id, { metrics, params: [], tags: [] });
    const history = await client.getMetricHistory(info.run_id, 'loss');
    expect(history.map((m) => m.step)).toEqual(metrics.map((m) => m.step));
  });

  test.each([
    ['metrics', 1001, 2],
    ['params', 101, 2],
    ['tags', 101, 2],
  ] as const)('%s: %i items go in %i log-batch calls, within the server limits, all stored', async (kind, count, calls) => {
    const { info } = await newRun();
    const items = { metrics: [] as { key: string; value: number; timestamp: number; step: number }[], params: [] as { key: string; value: string }[], tags: [] as { key: string; value: string }[] };
    if (kind === 'metrics') items.metrics = Array.from({ length: count }, (_, i) => ({ key: 'acc', value: i / count, timestamp: 1, step: i }));
    else items[kind] = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: String(i) }));
    expect(await client.logBatch(info.run_id, items)).toBe(calls);
    const run = await client.getRun(info.run_id);
    const stored = kind === 'metrics'
      ? (await client.getMetricHistory(info.run_id, 'acc')).length
      : kind === 'params' ? run.data.params.length : run.data.tags.filter((t) => /^k\d+$/.test(t.key)).length;
    expect(stored).toBe(count);
  });

  test('a param logged again with another value is a clear error; the same value is fine', async () => {
    const { info } = await newRun();
    await client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.001' }], metrics: [], tags: [] });
    await client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.001' }], metrics: [], tags: [] });
    const change = client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.01' }], metrics: [], tags: [] });
    await expect(change).rejects.toThrow(MlflowApiError);
    await expect(change).rejects.toThrow(
      /MLflow rejected POST \/api\/2\.0\/mlflow\/runs\/log-batch \(HTTP 400 INVALID_PARAMETER_VALUE\): Changing param values is not allowed\. .*'lr'.*'0\.001'/,
    );
  });

  test('NaN and infinite metrics are sent as protobuf JSON strings and read back as numbers', async () => {
    const { info } = await newRun();
    await client.logBatch(info.run_id, {
      metrics: [
        { key: 'val_auc', value: Number.NaN, timestamp: 1700000000000, step: 0 },
        { key: 'ratio', value: Number.POSITIVE_INFINITY, timestamp: 1700000000000, step: 0 },
      ],
      params: [],
      tags: [],
    });
    expect((await client.getMetricHistory(info.run_id, 'val_auc'))[0].value).toBeNaN();
    // The SQL store keeps +Infinity as the largest double.
    expect((await client.getMetricHistory(info.run_id, 'ratio'))[0].value).toBeGreaterThanOrEqual(Number.MAX_VALUE);
  });

  test('an over-long key is refused before anything is sent', async () => {
    const { info } = await newRun();
    await expect(client.logBatch(info.run_id, { metrics: [{ key: 'k'.repeat(251), value: 1, timestamp: 1, step: 0 }], params: [], tags: [] })).rejects.toThrow(
      /metric key 'k+\.\.\.' is 251 characters; MLflow accepts at most 250/,
    );
    expect((await client.getRun(info.run_id)).data.metrics).toEqual([]);
  });

  test('an unknown run is RESOURCE_DOES_NOT_EXIST', async () => {
    await expect(client.getRun('deadbeef')).rejects.toThrow(/\(HTTP 404 RESOURCE_DOES_NOT_EXIST\): Run with id=deadbeef not found/);
  });

  test('a deleted run refuses logging', async () => {
    const { info } = await newRun();
    await client.http.request({ method: 'POST', path: `${API}/runs/delete`, json: { run_id: info.run_id } });
    await expect(client.logBatch(info.run_id, { metrics: [], params: [], tags: [{ key: 'a', value: 'b' }] })).rejects.toThrow(
      /must be in the 'active' state\. Current state is deleted/,
    );
  });

  test('registry: model, version READY, alias set and read; an unset alias is undefined', async () => {
    const { info } = await newRun();
    const name = uniqueName('m');
    await client.getOrCreateRegisteredModel(name, 'smoke');
    await client.getOrCreateRegisteredModel(name);
    expect(await client.getModelVersionByAlias(name, 'champion')).toBeUndefined();
    const created = await client.createModelVersion({ name, source: `runs:/${info.run_id}/model`, runId: info.run_id });
    const ready = await client.waitForModelVersionReady(name, created.version, { pollMs: 5 });
    expect(ready.status).toBe('READY');
    await client.setRegisteredModelAlias(name, 'champion', ready.version);
    expect(await client.getModelVersionByAlias(name, 'champion')).toMatchObject({ version: '1', aliases: ['champion'], run_id: info.run_id });
    const models = await client.searchRegisteredModels({ filter: `name='${name}'` });
    expect(models.items[0].aliases).toEqual([{ alias: 'champion', version: '1' }]);
    const versions = await client.searchModelVersions({ filter: `name='${name}' and run_id='${info.run_id}'` });
    expect(versions.items.map((v) => v.version)).toEqual(['1']);
  });

  test('logged models: created PENDING, found by run, finalized READY or UPLOAD_FAILED, an output of the run, registered from models:/m-<id>', async () => {
    const { info } = await newRun();
    const created = await client.createLoggedModel({
      experimentId: info.experiment_id, name: 'model', modelType: 'image-classifier', sourceRunId: info.run_id,
      params: [{ key: 'epochs', value: '3' }], tags: [{ key: 'model', value: 'micro' }],
    });
    expect(created.info).toMatchObject({
      model_id: expect.stringMatching(/^m-[0-9a-f]{32}$/), name: 'model', status: 'LOGGED_MODEL_PENDING', source_run_id: info.run_id,
      artifact_uri: `mlflow-artifacts:/${info.experiment_id}/models/${created.info.model_id}/artifacts`,
    });
    const modelId = created.info.model_id;
    const found = await client.searchLoggedModels([info.experiment_id], { filter: `source_run_id = '${info.run_id}' AND name = 'model'` });
    expect(found.items.map((m) => m.info.model_id)).toEqual([modelId]);
    expect((await client.finalizeLoggedModel(modelId, 'LOGGED_MODEL_READY')).info.status).toBe('LOGGED_MODEL_READY');
    await client.logOutputs(info.run_id, [{ modelId, step: 3 }]);
    expect((await client.getRun(info.run_id)).outputs.model_outputs).toEqual([{ model_id: modelId, step: 3 }]);
    await client.logBatch(info.run_id, { metrics: [{ key: 'test_auc', value: 0.9, timestamp: 5, step: 3, model_id: modelId, dataset_name: 'cells', dataset_digest: 'abc' }], params: [], tags: [] });
    expect((await client.getLoggedModel(modelId)).data.metrics).toEqual([expect.objectContaining({ key: 'test_auc', model_id: modelId, dataset_name: 'cells', dataset_digest: 'abc' })]);
    const name = uniqueName('m');
    await client.getOrCreateRegisteredModel(name);
    const version = await client.createModelVersion({ name, source: `models:/${modelId}`, runId: info.run_id, modelId });
    expect(version).toMatchObject({ source: `models:/${modelId}`, run_id: info.run_id });
    expect(await client.getModelVersionDownloadUri(name, version.version)).toBe(created.info.artifact_uri);

    const failed = await client.createLoggedModel({ experimentId: info.experiment_id, name: 'model', sourceRunId: info.run_id });
    expect((await client.finalizeLoggedModel(failed.info.model_id, 'LOGGED_MODEL_UPLOAD_FAILED')).info.status).toBe('LOGGED_MODEL_UPLOAD_FAILED');
  });
});

describeRealMlflowAuth('MlflowClient with basic-auth', (mlflow) => {
  test('401 without credentials names the variables to set', async () => {
    const client = new MlflowClient(mlflow.connection({ auth: undefined }));
    const error = await client.getOrCreateExperiment(uniqueName('auth-exp')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowAuthError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `MLflow server ${mlflow.url} requires authentication (401 on GET /api/2.0/mlflow/experiments/get-by-name): no credentials were sent. ` +
        'Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN (bearer token).',
    );
  });

  test('401 with a wrong password says the credentials were rejected', async () => {
    const client = new MlflowClient(mlflow.connection({ auth: { kind: 'basic', username: 'admin', password: 'wrong' } }));
    await expect(client.searchExperiments()).rejects.toThrow(/the credentials of MLFLOW_TRACKING_USERNAME='admin' were rejected/);
  });

  test('403 for a READ-only user names the user and the permission to ask for', async () => {
    const experiment = await new MlflowClient(mlflow.connection()).getOrCreateExperiment(uniqueName('auth-exp'));
    const bob = uniqueName('bob');
    await createUser(mlflow, bob, 'bob-password-123');
    const client = new MlflowClient(mlflow.connection({ auth: { kind: 'basic', username: bob, password: 'bob-password-123' } }));
    expect((await client.getExperiment(experiment.experiment_id)).name).toBe(experiment.name);
    await expect(client.createRun({ experimentId: experiment.experiment_id, startTime: 0 })).rejects.toThrow(
      new RegExp(`denied user '${bob}' permission for POST /api/2\\.0/mlflow/runs/create \\(403\\)\\. Ask an MLflow admin to grant EDIT`),
    );
  });

  test('/health stays open without credentials', async () => {
    expect(await new MlflowClient(mlflow.connection({ auth: undefined })).isReachable()).toBe(true);
  });
});

/** Faults a real server cannot produce on demand: 5xx, 429, going away, never answering. */
describe('MlflowClient against the fake server: retries', () => {
  let server: FakeMlflow;
  let client: MlflowClient;
  const notices: RetryNotice[] = [];

  beforeEach(async () => {
    server = await startFakeMlflow();
    notices.length = 0;
    client = new MlflowClient(fastConnection(server.url), {}, { onRetry: (n) => notices.push(n) });
  });
  afterEach(() => server.close());

  test('500s are retried with backoff until the server recovers, each retry announced', async () => {
    await client.getOrCreateExperiment('cells');
    server.failNext(2, { status: 500 });
    const experiment = await client.getExperimentByName('cells');
    expect(experiment?.name).toBe('cells');
    expect(server.requestsTo(`GET ${API}/experiments/get-by-name`).map((r) => r.status)).toEqual([404, 500, 500, 200]);
    expect(notices.map((n) => [n.attempt, n.attempts])).toEqual([[1, 3], [2, 3]]);
    expect(notices[0]).toMatchObject({ endpoint: `GET ${API}/experiments/get-by-name`, reason: expect.stringMatching(/^HTTP 500 /) });
  });

  test('a 4xx answer is final: not retried', async () => {
    await expect(client.getRun('deadbeef')).rejects.toThrow(MlflowApiError);
    expect(server.requestsTo(`GET ${API}/runs/get`)).toHaveLength(1);
    expect(notices).toEqual([]);
  });

  test('429 is retried too; giving up names the server and the last answer', async () => {
    server.failNext(3, { status: 429 });
    const error = await client.getExperimentByName('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowUnavailableError);
    expect((error as Error).message).toMatch(new RegExp(`MLflow server ${server.url} unavailable for GET .*get-by-name after 3 attempt\\(s\\): HTTP 429`));
  });

  test('a server that is down is MlflowUnavailableError after the retries', async () => {
    await server.down();
    const error = await client.getExperimentByName('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowUnavailableError);
    expect((error as Error).message).toMatch(/after 3 attempt\(s\): .*ECONNREFUSED.*Check MLFLOW_TRACKING_URI/);
    expect(await client.probe()).toMatch(/ECONNREFUSED/);
    await server.up();
    expect(await client.isReachable()).toBe(true);
  });

  test('an aborted signal skips the waits: the call fails at once as unavailable', async () => {
    await server.down();
    const stop = new AbortController();
    const slow = new MlflowClient(fastConnection(server.url, { maxRetries: 7, backoffFactorMs: 60_000 }), {}, {
      signal: stop.signal,
      onRetry: () => stop.abort(),
    });
    const t0 = Date.now();
    await expect(slow.getExperimentByName('x')).rejects.toThrow(/after 1 attempt\(s\): .*ECONNREFUSED.* \(retries skipped\)/);
    expect(Date.now() - t0).toBeLessThan(10_000);
  });

  test('a new version still PENDING_REGISTRATION is asked again until READY', async () => {
    await server.close();
    server = await startFakeMlflow({ pendingRegistrationPolls: 2 });
    client = new MlflowClient(fastConnection(server.url));
    await client.getOrCreateRegisteredModel('m');
    const created = await client.createModelVersion({ name: 'm', source: 's3://bucket/model' });
    expect(created.status).toBe('PENDING_REGISTRATION');
    expect((await client.waitForModelVersionReady('m', created.version, { pollMs: 5 })).status).toBe('READY');
    expect(server.requestsTo(`GET ${API}/model-versions/get`)).toHaveLength(2);
  });

  test('a request the server never answers times out (MLFLOW_HTTP_REQUEST_TIMEOUT)', async () => {
    const net = await import('node:net');
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const slow = new MlflowClient(fastConnection(`http://127.0.0.1:${port}`, { timeoutMs: 100, maxRetries: 1 }));
    await expect(slow.getExperimentByName('x')).rejects.toThrow(/after 2 attempt\(s\): no answer within 0\.1 s \(MLFLOW_HTTP_REQUEST_TIMEOUT\)/);
    silent.close();
  });
});
