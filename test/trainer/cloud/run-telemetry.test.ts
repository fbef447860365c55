import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../../../trainer/src/cloud/gpu';
import { COST_BASIS_TAG, COST_METRICS, withCloudTelemetry, type CloudTelemetryOptions } from '../../../trainer/src/cloud/run-telemetry';
import { RunFolderTracker } from '../../../trainer/src/tracking/run-folder';
import { RunTracking, type ServerTracker } from '../../../trainer/src/tracking/run-tracking';
import type { RunStart } from '../../../trainer/src/tracking/tracker';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { makeRunFolder, makeTracker, runStart } from '../tracking/mlflow/tracker-fixtures';
import { startFakeImds, type FakeImds } from './fake-imds';
import { standInNvidiaSmi } from './stand-in-nvidia-smi';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const oneT4: CommandRunner = async () => 'Tesla T4, 535.183.01\n';

/** A tracking server that records what it is sent, and answers the last steps it is told to. */
class RecordingServer implements ServerTracker {
  readonly calls: Array<{ call: string; data: unknown; step?: number }> = [];
  constructor(private readonly lastSteps: Record<string, number> = {}) {}
  get runId() { return 'run-1'; }
  async lastLoggedStep(metric: string) { return this.lastSteps[metric] ?? 0; }
  async startRun(start: RunStart) { this.calls.push({ call: 'startRun', data: start.runName }); }
  async logParams(params: object) { this.calls.push({ call: 'logParams', data: params }); }
  async setTags(tags: Record<string, string>) { this.calls.push({ call: 'setTags', data: tags }); }
  async logMetrics(metrics: Record<string, number>, step: number) { this.calls.push({ call: 'logMetrics', data: metrics, step }); }
  async logDataset() { this.calls.push({ call: 'logDataset', data: undefined }); }
  async endRun() { this.calls.push({ call: 'endRun', data: undefined }); }

  metric(name: string): Array<{ value: number; step: number }> {
    return this.calls.filter((c) => c.call === 'logMetrics' && name in (c.data as object))
      .map((c) => ({ value: (c.data as Record<string, number>)[name], step: c.step ?? -1 }));
  }
}

let imds: FakeImds;
let spotImds: FakeImds;
beforeAll(async () => {
  imds = await startFakeImds({ instanceType: 'g4dn.xlarge', instanceId: 'i-0abc', lifecycle: 'on-demand' });
  spotImds = await startFakeImds({ instanceType: 'g4dn.12xlarge', instanceId: 'i-0def', lifecycle: 'spot' });
});
afterAll(async () => { await imds.stop(); await spotImds.stop(); });

/** A run of `hours` of GPU time (by the clock), with readings from the stand-in nvidia-smi in between. */
async function runWithTelemetry(server: RecordingServer, options: Partial<CloudTelemetryOptions> & { hours?: number } = {}) {
  const smi = standInNvidiaSmi();
  const lines: string[] = [];
  let now = 0;
  const runDir = mkdtempSync(join(tmpdir(), 'telemetry-'));
  const open = withCloudTelemetry(() => new RunTracking(new RunFolderTracker(runDir), server, 'recording'), {
    log: (line) => lines.push(line),
    runner: oneT4,
    env: { PATH: `${smi.bin}:${process.env.PATH}` },
    metadata: { endpoint: imds.endpoint },
    clock: () => now,
    startedAt: 0,
    ...options,
  });
  const tracking = open({ runDir });
  await tracking.startRun({ runName: 'r', runDir, description: '', tags: {} });
  await tracking.logMetrics({ loss: 0.5 }, 1);
  await sleep(400);
  now = (options.hours ?? 1) * 3600 * 1000;
  await tracking.endRun({ status: 'FINISHED' });
  return { lines, runDir, smi };
}

describe('a GPU run\'s telemetry', () => {
  test('GPU readings go to the server under MLflow\'s system-metric names, step by step', async () => {
    const server = new RecordingServer();
    await runWithTelemetry(server);
    const utilisation = server.metric('system/gpu_0_utilization_percentage');
    expect(utilisation.length).toBeGreaterThan(1);
    expect(utilisation.map((m) => m.step)).toEqual(utilisation.map((_, i) => i));
    expect(server.metric('system/gpu_0_memory_usage_megabytes')[0].value).toBe(1073.7);
    expect(server.metric('system/gpu_0_power_usage_watts')[0].value).toBe(35.5);
  });

  test('GPU time and estimated cost from the price table, final before the run ends', async () => {
    const server = new RecordingServer();
    await runWithTelemetry(server, { hours: 2 });
    const end = server.calls.findIndex((c) => c.call === 'endRun');
    const lastCost = server.calls.map((c, i) => [c, i] as const).filter(([c]) => c.call === 'logMetrics' && COST_METRICS.costUsd in (c.data as object)).at(-1)!;
    expect(lastCost[1]).toBeLessThan(end);
    expect(lastCost[0].data).toEqual({ [COST_METRICS.gpuSeconds]: 7200, [COST_METRICS.costUsd]: 1.174 });
    expect(lastCost[0].step).toBe(7200);
    expect(server.metric(COST_METRICS.instancePrice)).toEqual([{ value: 0.587, step: 0 }]);
    expect(server.calls).toContainEqual({ call: 'setTags', data: { [COST_BASIS_TAG]: '$0.587/h on-demand list price, eu-west-1, as of 2026-11-30 (trainer/src/cloud/prices.ts)' } });
  });

  test('spot, on a four-GPU instance of which the run holds one: the typical spot price, a quarter of it', async () => {
    const server = new RecordingServer();
    await runWithTelemetry(server, { metadata: { endpoint: spotImds.endpoint } });
    // g4dn.12xlarge in eu-west-1: $4.362 on demand, 60% less on spot, shared by four GPUs.
    expect(server.metric(COST_METRICS.costUsd).at(-1)?.value).toBeCloseTo((4.362 * 0.4) / 4, 3);
    expect(server.calls.find((c) => c.call === 'setTags')?.data).toEqual({ [COST_BASIS_TAG]: expect.stringMatching(/typical spot price \(60% under on-demand\).*shared by 4 GPUs/) });
  });

  test('a resumed run adds to the GPU time of its earlier attempts and continues their steps', async () => {
    const server = new RecordingServer({ [COST_METRICS.gpuSeconds]: 1800, 'system/gpu_0_utilization_percentage': 41 });
    await runWithTelemetry(server, { hours: 1 });
    expect(server.metric(COST_METRICS.gpuSeconds).at(-1)).toEqual({ value: 5400, step: 5400 });
    expect(server.metric(COST_METRICS.costUsd).at(-1)?.value).toBeCloseTo(1.5 * 0.587, 4);
    expect(server.metric('system/gpu_0_utilization_percentage')[0].step).toBe(42);
  });

  test('the run folder keeps its epochs only', async () => {
    const server = new RecordingServer();
    const { runDir } = await runWithTelemetry(server);
    expect(readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n')).toEqual(['{"epoch":1,"loss":0.5}']);
  });

  test('off EC2: GPU time only, and it says why', async () => {
    const server = new RecordingServer();
    const { lines } = await runWithTelemetry(server, { env: { PATH: process.env.PATH, AWS_EC2_METADATA_DISABLED: 'true' } });
    expect(lines).toContain('cost: no instance metadata (not on EC2); logging GPU time only');
    expect(server.metric(COST_METRICS.gpuSeconds).at(-1)?.value).toBe(3600);
    expect(server.metric(COST_METRICS.costUsd)).toEqual([]);
  });

  test('an instance type the table lacks: GPU time only, naming the file to extend', async () => {
    const other = await startFakeImds({ instanceType: 'g6e.xlarge', instanceId: 'i-9', lifecycle: 'on-demand' });
    try {
      const server = new RecordingServer();
      const { lines } = await runWithTelemetry(server, { metadata: { endpoint: other.endpoint } });
      expect(lines).toContain('cost: prices.ts has no on-demand price for g6e.xlarge in eu-west-1; logging GPU time only (add it there)');
      expect(server.metric(COST_METRICS.costUsd)).toEqual([]);
    } finally {
      await other.stop();
    }
  });

  test('without a tracking server there is nothing to add to', () => {
    const runDir = mkdtempSync(join(tmpdir(), 'telemetry-'));
    const plain = new RunTracking(new RunFolderTracker(runDir));
    expect(withCloudTelemetry(() => plain, { log: () => undefined })({ runDir })).toBe(plain);
  });
});

describeRealMlflow('cloud telemetry over the MLflow client', (mlflow) => {
  test('readings and cost are system metrics, and the test metrics still go at the last epoch', async () => {
    const smi = standInNvidiaSmi();
    const work = mkdtempSync(join(tmpdir(), 'telemetry-mlflow-'));
    const { runDir, modelDir } = await makeRunFolder(work, 'run-1');
    const { tracker } = makeTracker(mlflow.connection(), { experimentName: uniqueName('telemetry'), registerModel: uniqueName('telemetry-model') });
    let now = 0;
    const open = withCloudTelemetry(() => new RunTracking(new RunFolderTracker(runDir), tracker, 'MLflow'), {
      log: () => undefined, runner: oneT4, env: { PATH: `${smi.bin}:${process.env.PATH}` }, metadata: { endpoint: imds.endpoint },
      clock: () => now, startedAt: 0,
    });
    const tracking = open({ runDir });
    await tracking.startRun(runStart(runDir));
    for (const epoch of [1, 2]) await tracking.logMetrics({ loss: 1 / epoch }, epoch);
    await sleep(400);
    now = 600_000;
    await tracking.endRun({ status: 'FINISHED', testMetrics: { test_auc: 0.9 }, modelDir });

    const client = new MlflowClient(mlflow.connection());
    const runId = tracker.runId as string;
    const history = (key: string) => client.getMetricHistory(runId, key);
    expect((await history('test_auc')).map((m) => m.step)).toEqual([2]);
    expect((await history('system/gpu_0_utilization_percentage')).length).toBeGreaterThan(1);
    expect((await history(COST_METRICS.gpuSeconds)).at(-1)).toMatchObject({ value: 600, step: 600 });
    expect((await history(COST_METRICS.costUsd)).at(-1)?.value).toBeCloseTo((600 / 3600) * 0.587, 4);
    expect((await client.getRun(runId)).info.status).toBe('FINISHED');
  });
});
