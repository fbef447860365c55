import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PREDICTIONS_FILE, readPredictions } from '../evaluate/predictions-file';
import type { MlflowClient } from '../tracking/mlflow/client';
import { downloadArtifacts } from '../tracking/mlflow/artifacts/download';
import type { Run } from '../tracking/mlflow/schemas';
import type { EpochRecord } from '../train/history';
import { UserError } from '../user-error';
import { GROUP_KIND_TAG, type RunSummary } from './run-summary';

/** Per-epoch metrics a comparison draws learning curves from. */
const HISTORY_KEYS = ['loss', 'accuracy', 'val_loss', 'val_accuracy'] as const;

/**
 * One MLflow run as a comparison sees it: its params, test and cost metrics and tags from the
 * server, its learning curves from the metric history, and its test predictions from the run's
 * artifacts (downloaded under `cacheDir`) when it logged them.
 */
export async function readMlflowRun(client: MlflowClient, runId: string, cacheDir: string): Promise<RunSummary> {
  const run = await client.getRun(runId);
  const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
  const metrics = Object.fromEntries(run.data.metrics.filter((m) => /^(test_|system\/)/.test(m.key)).map((m) => [m.key, m.value]));
  const histories = await Promise.all(HISTORY_KEYS.map((key) => client.getMetricHistory(runId, key)));
  const byEpoch = new Map<number, Partial<Record<(typeof HISTORY_KEYS)[number], number>>>();
  HISTORY_KEYS.forEach((key, k) => {
    for (const point of histories[k]) byEpoch.set(point.step, { ...byEpoch.get(point.step), [key]: point.value });
  });
  const history = [...byEpoch.entries()].sort(([a], [b]) => a - b).map(([epoch, v]) => ({
    epoch, loss: v.loss ?? NaN, accuracy: v.accuracy ?? NaN, val_loss: v.val_loss ?? NaN, val_accuracy: v.val_accuracy ?? NaN,
    learning_rate: NaN, epoch_seconds: NaN, images_per_second: NaN,
  } satisfies EpochRecord));
  const dir = join(cacheDir, runId);
  await mkdir(dir, { recursive: true });
  const predictions = await downloadArtifacts(client, `runs:/${runId}/${PREDICTIONS_FILE}`, dir).then(() => readPredictions(dir), () => undefined);
  const { start_time: start, end_time: end } = run.info;
  return {
    name: tags['mlflow.runName'] ?? runId,
    source: `runs:/${runId}`,
    status: run.info.status,
    params: Object.fromEntries(run.data.params.map((p) => [p.key, p.value])),
    metrics,
    tags,
    history,
    predictions,
    ...(start && end ? { durationSeconds: (Number(end) - Number(start)) / 1000 } : {}),
  };
}

/** A run, or a group's parent run (a sweep, a cross-validation) read as its members. */
export async function readMlflowRuns(client: MlflowClient, runId: string, cacheDir: string): Promise<RunSummary[]> {
  const { info, data } = await client.getRun(runId);
  if (!data.tags.some((t) => t.key === GROUP_KIND_TAG)) return [await readMlflowRun(client, runId, cacheDir)];
  const children = await childRunIds(client, info.experiment_id, runId);
  return Promise.all(children.map((id) => readMlflowRun(client, id, cacheDir)));
}

/** The runs MLflow nests under `parentRunId` (MLflow's own parent tag), oldest first. */
export async function childRunIds(client: MlflowClient, experimentId: string, parentRunId: string): Promise<string[]> {
  const runs = await allRuns(client, experimentId, `tags.mlflow.parentRunId = '${parentRunId}'`);
  return runs.sort((a, b) => Number(a.info.start_time ?? 0) - Number(b.info.start_time ?? 0)).map((r) => r.info.run_id);
}

/** The finished training runs of an experiment (group parents left out), oldest first. */
export async function experimentRunIds(client: MlflowClient, experimentName: string): Promise<string[]> {
  const experiment = await client.getExperimentByName(experimentName);
  if (!experiment) throw new UserError(`MLflow has no experiment '${experimentName}' (and it is neither a run folder nor runs:/<id>)`);
  const runs = await allRuns(client, experiment.experiment_id, "attributes.status = 'FINISHED'");
  return runs
    .filter((r) => !r.data.tags.some((t) => t.key === GROUP_KIND_TAG))
    .sort((a, b) => Number(a.info.start_time ?? 0) - Number(b.info.start_time ?? 0))
    .map((r) => r.info.run_id);
}

async function allRuns(client: MlflowClient, experimentId: string, filter: string): Promise<Run[]> {
  const runs: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await client.searchRuns([experimentId], { filter, maxResults: 1000, pageToken });
    runs.push(...page.items);
    pageToken = page.nextPageToken || undefined;
  } while (pageToken);
  return runs;
}
