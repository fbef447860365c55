import { UserError } from '../../../../trainer/src/user-error';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import { MlflowApiError, MlflowAuthError, MlflowUnavailableError } from '../../../../trainer/src/tracking/mlflow/errors';
import { type FakeMlflow, fastConnection, startFakeMlflow } from '../../../support/fake-mlflow';

const API = '/api/2.0/mlflow';

describe('MlflowClient against the fake MLflow 3.11 server', () => {
  let server: FakeMlflow;
  let client: MlflowClient;

  beforeEach(async () => {
    server = await startFakeMlflow();
    client = new MlflowClient(fastConnection(server.url));
  });
  afterEach(() => server.close());

  async function newRun() {
    const experiment = await client.getOrCreateExperiment('cells');
    return client.createRun({ experimentId: experiment.experiment_id, runName: 'r', startTime: 1795634003691 });
  }

  test('two trainers racing to create the experiment both get it', async () => {
    const other = new MlflowClient(fastConnection(server.url));
    const [a, b] = await Promise.all([client.getOrCreateExperiment('race'), other.getOrCreateExperiment('race')]);
    expect(a.experiment_id).toBe(b.experiment_id);
    expect([...server.state.experiments.values()].filter((e) => e.name === 'race')).toHaveLength(1);
    // Both looked it up, both tried to create it, one lost with RESOURCE_ALREADY_EXISTS and read it back.
    expect(server.requestsTo(`POST ${API}/experiments/create`).map((r) => r.status).sort()).toEqual([200, 400]);
  });

  test('run lifecycle: create with name and tags, log, finish, read back', async () => {
    const experiment = await client.getOrCreateExperiment('cells');
    expect(experiment.artifact_location).toBe(`mlflow-artifacts:/${experiment.experiment_id}`);
    const run = await client.createRun({
      experimentId: experiment.experiment_id,
      runName: 'smoke-run',
      startTime: 1795634003691,
      userId: 'ts-tester',
      tags: [{ key: 'mlflow.user', value: 'ts-tester' }],
    });
    // The request has the transcript's shape.
    expect(server.requestsTo(`POST ${API}/runs/create`)[0].body).toEqual({
      experiment_id: experiment.experiment_id,
      run_name: 'smoke-run',
      start_time: 1795634003691,
      user_id: 'ts-tester',
      tags: [{ key: 'mlflow.user', value: 'ts-tester' }],
    });
    expect(run.info).toMatchObject({ status: 'RUNNING', run_name: 'smoke-run', artifact_uri: expect.stringMatching(/^mlflow-artifacts:\//) });
    const runId = run.info.run_id;
    await client.logBatch(runId, {
      params: [{ key: 'lr', value: '0.01' }],
      metrics: [0.9, 0.5, 0.25].map((value, step) => ({ key: 'loss', value, timestamp: 1795634003691 + step, step })),
      tags: [{ key: 'stage', value: 'smoke' }],
    });
    expect(server.requestsTo(`POST ${API}/runs/log-batch`)[0].body).toEqual({
      run_id: runId,
      metrics: [
        { key: 'loss', value: 0.9, timestamp: 1795634003691, step: 0 },
        { key: 'loss', value: 0.5, timestamp: 1795634003692, step: 1 },
        { key: 'loss', value: 0.25, timestamp: 1795634003693, step: 2 },
      ],
      params: [{ key: 'lr', value: '0.01' }],
      tags: [{ key: 'stage', value: 'smoke' }],
    });
    const info = await client.updateRun(runId, { status: 'FINISHED', endTime: 1795634008691 });
    expect(server.requestsTo(`POST ${API}/runs/update`)[0].body).toEqual({ run_id: runId, status: 'FINISHED', end_time: 1795634008691 });
    expect(info).toMatchObject({ status: 'FINISHED', end_time: 1795634008691 });
    const read = await client.getRun(runId);
    expect(read.data.params).toEqual([{ key: 'lr', value: '0.01' }]);
    expect(read.data.metrics).toEqual([{ key: 'loss', value: 0.25, timestamp: 1795634003693, step: 2 }]);
    expect(read.data.tags).toEqual(expect.arrayContaining([{ key: 'stage', value: 'smoke' }, { key: 'mlflow.runName', value: 'smoke-run' }]));
    const found = await client.searchRuns([experiment.experiment_id], { filter: "metrics.loss < 0.5 and params.lr = '0.01'", orderBy: ['metrics.loss ASC'] });
    expect(found.items.map((r) => r.info.run_id)).toEqual([runId]);
  });

  test('metric history is asked with max_results (without it MLflow returns no metrics) and pages through', async () => {
    const { info } = await newRun();
    const metrics = Array.from({ length: 2500 }, (_, step) => ({ key: 'loss', value: 1 / (step + 1), timestamp: 1, step }));
    await client.logBatch(info.run_id, { metrics, params: [], tags: [] });
    const history = await client.getMetricHistory(info.run_id, 'loss');
    expect(history.map((m) => m.step)).toEqual(metrics.map((m) => m.step));
    const asked = server.requestsTo(`GET ${API}/metrics/get-history`);
    expect(asked).toHaveLength(3);
    for (const r of asked) expect(r.query.max_results).toBe('1000');
  });

  test.each([
    ['metrics', 1000, 1],
    ['metrics', 1001, 2],
    ['params', 100, 1],
    ['params', 101, 2],
    ['tags', 100, 1],
    ['tags', 101, 2],
  ] as const)('%s: %i items go in %i log-batch call(s), all accepted', async (kind, count, calls) => {
    const { info } = await newRun();
    const items = { metrics: [] as { key: string; value: number; timestamp: number; step: number }[], params: [] as { key: string; value: string }[], tags: [] as { key: string; value: string }[] };
    if (kind === 'metrics') items.metrics = Array.from({ length: count }, (_, i) => ({ key: 'acc', value: i / count, timestamp: 1, step: i }));
    else items[kind] = Array.from({ length: count }, (_, i) => ({ key: `k${i}`, value: String(i) }));
    expect(await client.logBatch(info.run_id, items)).toBe(calls);
    const batches = server.requestsTo(`POST ${API}/runs/log-batch`);
    expect(batches.map((r) => r.status)).toEqual(Array(calls).fill(200));
    const run = server.state.runs.get(info.run_id);
    const stored = kind === 'metrics' ? run?.metrics.length : kind === 'params' ? run?.params.size : (run?.tags.size ?? 0) - 1;
    expect(stored).toBe(count);
  });

  test('the fake enforces the limits the client splits for', async () => {
    const { info } = await newRun();
    const res = await fetch(`${server.url}${API}/runs/log-batch`, {
      method: 'POST',
      body: JSON.stringify({ run_id: info.run_id, params: Array.from({ length: 101 }, (_, i) => ({ key: `p${i}`, value: '1' })) }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'A batch logging request can contain at most 100 params. Got 101 params. Please split up params across multiple requests and try again.',
    });
  });

  test('a param logged again with another value is a clear error; the same value is fine', async () => {
    const { info } = await newRun();
    await client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.001' }], metrics: [], tags: [] });
    await client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.001' }], metrics: [], tags: [] });
    const change = client.logBatch(info.run_id, { params: [{ key: 'lr', value: '0.01' }], metrics: [], tags: [] });
    await expect(change).rejects.toThrow(MlflowApiError);
    await expect(change).rejects.toThrow(
      /MLflow rejected POST \/api\/2\.0\/mlflow\/runs\/log-batch \(HTTP 400 INVALID_PARAMETER_VALUE\): Changing param values is not allowed\. Param with key='lr' was already logged with value='0\.001'/,
    );
    // 4xx is final: not retried.
    expect(server.requestsTo(`POST ${API}/runs/log-batch`)).toHaveLength(3);
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
    const sent = server.requestsTo(`POST ${API}/runs/log-batch`)[0].body as { metrics: { value: unknown }[] };
    expect(sent.metrics.map((m) => m.value)).toEqual(['NaN', 'Infinity']);
    const history = await client.getMetricHistory(info.run_id, 'val_auc');
    expect(history[0].value).toBeNaN();
  });

  test('an over-long key is refused before anything is sent', async () => {
    const { info } = await newRun();
    await expect(client.logBatch(info.run_id, { metrics: [{ key: 'k'.repeat(251), value: 1, timestamp: 1, step: 0 }], params: [], tags: [] })).rejects.toThrow(
      /metric key 'k+\.\.\.' is 251 characters; MLflow accepts at most 250/,
    );
    expect(server.requestsTo(`POST ${API}/runs/log-batch`)).toHaveLength(0);
  });

  test('an unknown run is RESOURCE_DOES_NOT_EXIST', async () => {
    await expect(client.getRun('deadbeef')).rejects.toThrow('(HTTP 404 RESOURCE_DOES_NOT_EXIST): Run with id=deadbeef not found');
  });

  test('a deleted run refuses logging', async () => {
    const { info } = await newRun();
    await fetch(`${server.url}${API}/runs/delete`, { method: 'POST', body: JSON.stringify({ run_id: info.run_id }) });
    await expect(client.logBatch(info.run_id, { metrics: [], params: [], tags: [{ key: 'a', value: 'b' }] })).rejects.toThrow(
      /must be in the 'active' state\. Current state is deleted/,
    );
  });

  test('500s are retried with backoff until the server recovers', async () => {
    await client.getOrCreateExperiment('cells');
    server.failNext(2, { status: 500 });
    const experiment = await client.getExperimentByName('cells');
    expect(experiment?.name).toBe('cells');
    expect(server.requestsTo(`GET ${API}/experiments/get-by-name`).map((r) => r.status)).toEqual([404, 500, 500, 200]);
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
    expect(await client.isReachable()).toBe(false);
    await server.up();
    expect(await client.isReachable()).toBe(true);
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

  test('registry: model, version READY after pending, alias set and read; unset alias is undefined', async () => {
    await server.close();
    server = await startFakeMlflow({ pendingRegistrationPolls: 2 });
    client = new MlflowClient(fastConnection(server.url));
    const { info } = await newRun();
    await client.getOrCreateRegisteredModel('m', 'smoke');
    await client.getOrCreateRegisteredModel('m');
    expect(await client.getModelVersionByAlias('m', 'champion')).toBeUndefined();
    const created = await client.createModelVersion({ name: 'm', source: `runs:/${info.run_id}/model`, runId: info.run_id });
    expect(created.status).toBe('PENDING_REGISTRATION');
    expect(server.requestsTo(`POST ${API}/model-versions/create`)[0].body).toEqual({ name: 'm', source: `runs:/${info.run_id}/model`, run_id: info.run_id });
    const ready = await client.waitForModelVersionReady('m', created.version, { pollMs: 5 });
    expect(ready.status).toBe('READY');
    expect(server.requestsTo(`GET ${API}/model-versions/get`)).toHaveLength(2);
    await client.setRegisteredModelAlias('m', 'champion', ready.version);
    expect(await client.getModelVersionByAlias('m', 'champion')).toMatchObject({ version: '1', aliases: ['champion'], run_id: info.run_id });
    expect(await client.getModelVersionDownloadUri('m', '1')).toBe(`runs:/${info.run_id}/model`);
    const models = await client.searchRegisteredModels({ filter: "name='m'" });
    expect(models.items[0].aliases).toEqual([{ alias: 'champion', version: '1' }]);
    const versions = await client.searchModelVersions({ filter: `name='m' and run_id='${info.run_id}'` });
    expect(versions.items.map((v) => v.version)).toEqual(['1']);
  });
});

describe('MlflowClient with basic auth (--app-name basic-auth)', () => {
  let server: FakeMlflow;
  beforeAll(async () => {
    server = await startFakeMlflow({ users: { admin: { password: 'password1234', permission: 'EDIT' }, bob: { password: 'bob-pass-123', permission: 'READ' } } });
  });
  afterAll(() => server.close());

  test('401 without credentials names the variables to set, and is not retried', async () => {
    const client = new MlflowClient(fastConnection(server.url));
    const error = await client.getOrCreateExperiment('auth-exp').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowAuthError);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toBe(
      `MLflow server ${server.url} requires authentication (401 on GET /api/2.0/mlflow/experiments/get-by-name): no credentials were sent. ` +
        'Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN (bearer token).',
    );
    expect(server.state.requests.filter((r) => r.status === 401)).toHaveLength(1);
  });

  test('401 with a wrong password says the credentials were rejected', async () => {
    const client = new MlflowClient(fastConnection(server.url, { auth: { kind: 'basic', username: 'admin', password: 'wrong' } }));
    await expect(client.searchExperiments()).rejects.toThrow(/the credentials of MLFLOW_TRACKING_USERNAME='admin' were rejected/);
  });

  test('403 for a READ-only user names the user and the permission to ask for', async () => {
    const admin = new MlflowClient(fastConnection(server.url, { auth: { kind: 'basic', username: 'admin', password: 'password1234' } }));
    const experiment = await admin.getOrCreateExperiment('auth-exp');
    const bob = new MlflowClient(fastConnection(server.url, { auth: { kind: 'basic', username: 'bob', password: 'bob-pass-123' } }));
    await expect(bob.createRun({ experimentId: experiment.experiment_id, startTime: 0 })).rejects.toThrow(
      /denied user 'bob' permission for POST \/api\/2\.0\/mlflow\/runs\/create \(403\)\. Ask an MLflow admin to grant EDIT/,
    );
  });

  test('/health stays open without credentials', async () => {
    expect(await new MlflowClient(fastConnection(server.url)).isReachable()).toBe(true);
  });
});
