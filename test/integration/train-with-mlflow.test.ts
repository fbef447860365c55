import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeMlflow, type FakeMlflow } from '../support/fake-mlflow';
import { runCli } from '../support/run-cli';

/** Reads the server back over REST, as the MLflow UI would. */
async function api(mlflow: FakeMlflow, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${mlflow.url}/api/2.0/mlflow/${path}`, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const fast = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0', MLFLOW_HTTP_REQUEST_TIMEOUT: '5' };

let work: string;
let args: string[];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'train-mlflow-'));
  args = ['train', '--data', 'synthetic:300', '--model', 'micro', '--image-size', '32', '--epochs', '2', '--patience', '0',
    '--out', join(work, 'runs'), '--cache-dir', join(work, 'cache')];
});

test('a training run is logged to MLflow: params, per-epoch history, test metrics, artifacts, a registered champion', async () => {
  const mlflow = await startFakeMlflow();
  try {
    const result = await runCli(args, { env: { MLFLOW_TRACKING_URI: mlflow.url, ...fast } });
    expect(result.code).toBe(0);

    const { experiment } = await api(mlflow, 'experiments/get-by-name?experiment_name=malaria-classifier');
    const { runs } = await api(mlflow, 'runs/search', { experiment_ids: [experiment.experiment_id] });
    expect(runs).toHaveLength(1);
    const run = runs[0];
    expect(run.info.status).toBe('FINISHED');
    const params = Object.fromEntries(run.data.params.map((p: { key: string; value: string }) => [p.key, p.value]));
    expect(params).toMatchObject({ model: 'micro', epochs: '2', imageSize: '32', split: 'patient' });
    expect(Number(params.param_count)).toBeGreaterThan(1000);
    const tags = Object.fromEntries(run.data.tags.map((t: { key: string; value: string }) => [t.key, t.value]));
    expect(tags['mlflow.runName']).toMatch(/-micro$/);
    expect(tags['mlflow.note.content']).toContain('Trains micro');
    const metricKeys = run.data.metrics.map((m: { key: string }) => m.key);
    expect(metricKeys).toEqual(expect.arrayContaining(['test_accuracy', 'test_auc', 'val_loss', 'images_per_second',
      'test_auc_ci_low', 'test_auc_ci_high', 'test_accuracy_ci_low', 'test_brier', 'test_ece', 'test_average_precision', 'test_patients']));

    const history = await api(mlflow, `metrics/get-history?run_id=${run.info.run_id}&metric_key=val_loss&max_results=100`);
    expect(history.metrics.map((m: { step: number }) => m.step)).toEqual([1, 2]);

    const model = await api(mlflow, `artifacts/list?run_id=${run.info.run_id}&path=model`);
    const files = model.files.map((f: { path: string }) => f.path);
    expect(files).toEqual(expect.arrayContaining(['model/MLmodel', 'model/model.json', 'model/weights.bin', 'model/preprocessing.json']));
    const root = await api(mlflow, `artifacts/list?run_id=${run.info.run_id}`);
    expect(root.files.map((f: { path: string }) => f.path)).toEqual(expect.arrayContaining(['report.html', 'split.json', 'plots']));

    const alias = await api(mlflow, 'registered-models/alias?name=malaria-classifier&alias=champion');
    expect(alias.model_version).toMatchObject({ run_id: run.info.run_id, version: '1' });
  } finally {
    await mlflow.close();
  }
});

test('with MLflow unreachable the training still finishes, keeps the calls in the run folder, and sync sends them later', async () => {
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}`;
  const result = await runCli(args, { env: { MLFLOW_TRACKING_URI: uri, ...fast } });
  expect(result.code).not.toBe(0);
  const runDir = result.stdout.trim().split('\n').at(-1) as string;
  expect(existsSync(join(runDir, 'metrics.json'))).toBe(true);
  expect(existsSync(join(runDir, 'mlflow-outbox.jsonl'))).toBe(true);
  expect(result.stderr).toContain(`sync ${runDir}`);

  const mlflow = await startFakeMlflow();
  try {
    const sync = await runCli(['sync', runDir], { env: { MLFLOW_TRACKING_URI: mlflow.url, ...fast } });
    expect(sync.code).toBe(0);
    expect(existsSync(join(runDir, 'mlflow-outbox.jsonl'))).toBe(false);
    const { experiment } = await api(mlflow, 'experiments/get-by-name?experiment_name=malaria-classifier');
    const { runs } = await api(mlflow, 'runs/search', { experiment_ids: [experiment.experiment_id] });
    expect(runs).toHaveLength(1);
    expect(runs[0].info.status).toBe('FINISHED');
    const history = await api(mlflow, `metrics/get-history?run_id=${runs[0].info.run_id}&metric_key=loss&max_results=100`);
    expect(history.metrics).toHaveLength(2);
  } finally {
    await mlflow.close();
  }
});
