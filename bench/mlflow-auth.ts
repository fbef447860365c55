import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MlflowClient } from '../trainer/src/tracking/mlflow/client';
import { MlflowTracker } from '../trainer/src/tracking/mlflow/mlflow-tracker';
import { fastConnection } from '../test/support/fast-connection';
import { ENTRYPOINT_ADMIN, startEntrypointServer, stopEntrypointServer } from '../test/support/real-mlflow/entrypoint-server';
import { kit, kitSettings, type KitSettings, kitStatus } from '../test/support/real-mlflow/kit';

const REQUESTS = 40;
const EPOCHS = 10;

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/** Milliseconds per authenticated request, one after another (each one a login check without the cache). */
async function requestMs(client: MlflowClient, experiment: string): Promise<{ median: number; p90: number }> {
  const times: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    const t0 = performance.now();
    await client.getExperimentByName(experiment);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: round(times[Math.floor(REQUESTS / 2)]), p90: round(times[Math.floor(REQUESTS * 0.9)]) };
}

/** Seconds the trainer's tracker spends on a small run: params, data set, 10 epochs, test metrics, run files. */
async function smallRunSeconds(client: MlflowClient, experimentName: string): Promise<number> {
  const runDir = await mkdtemp(path.join(tmpdir(), 'bench-auth-run-'));
  try {
    await mkdir(path.join(runDir, 'plots'));
    await writeFile(path.join(runDir, 'report.html'), '<html>report</html>');
    await writeFile(path.join(runDir, 'plots', 'roc.png'), Buffer.alloc(20_000));
    const tracker = new MlflowTracker(client, { experimentName, user: 'bench', sourceName: 'bench', registerModel: false, log: () => undefined });
    const t0 = performance.now();
    await tracker.startRun({ runName: 'bench', runDir, description: 'auth cache bench', tags: {} });
    await tracker.logParams(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`param_${i}`, i])));
    await tracker.logDataset({ name: 'bench', digest: 'd'.repeat(64), source: 'synthetic:100', splitDigest: 's'.repeat(64), counts: { train: 80, validation: 10, test: 10 } });
    for (let epoch = 1; epoch <= EPOCHS; epoch++) await tracker.logMetrics({ loss: 1 / epoch, val_loss: 1 / epoch }, epoch);
    await tracker.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.9, test_accuracy: 0.9 } });
    return round((performance.now() - t0) / 1000, 2);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

async function measure(settings: KitSettings, port: number, authCacheTtl: number | undefined): Promise<object> {
  const name = 'bench_auth';
  const server = await startEntrypointServer(settings, { port, name, authCacheTtl });
  try {
    const client = new MlflowClient(fastConnection(server.url, { auth: { kind: 'basic', ...ENTRYPOINT_ADMIN } }));
    await client.getOrCreateExperiment('bench');
    return { authCacheTtlSeconds: authCacheTtl ?? 60, requestMs: await requestMs(client, 'bench'), smallRunSeconds: await smallRunSeconds(client, 'bench') };
  } finally {
    await stopEntrypointServer(settings, { name, port });
  }
}

/**
 * The cost of basic-auth on the server the image runs (mlflow-stack/entrypoint.py, 2 workers,
 * PostgreSQL), with MLflow's login cache off (auth_cache_ttl_seconds = 0, MLflow's default) and
 * as the entrypoint sets it. Needs the ../shared/mlflow-server kit; its PostgreSQL is started
 * when it is not running and stopped again after.
 */
export async function benchMlflowAuth(): Promise<object> {
  const settings = kitSettings();
  if (!settings) return { skipped: 'needs the MLflow server kit (../shared/mlflow-server, or MLFLOW_SERVER_KIT)' };
  const pgWasUp = (await kitStatus(settings)).postgres;
  await kit(settings, 'start-pg');
  try {
    // Beside the test servers' ports, so a kept test server is not disturbed.
    const port = settings.authPort + 1;
    const off = await measure(settings, port, 0);
    const on = await measure(settings, port, undefined);
    return { server: 'mlflow-stack/entrypoint.py, basic-auth, 2 workers, PostgreSQL', requests: REQUESTS, epochs: EPOCHS, cacheOff: off, cacheOn: on };
  } finally {
    if (!pgWasUp) await kit(settings, 'stop');
  }
}
