import { join } from 'node:path';
import { compareRuns } from '../compare/write-comparison';
import { childRunIds, readMlflowRun } from '../compare/mlflow-runs';
import { optionParams } from '../pipeline/run-training';
import { createMlflowClient, createMlflowTrackerFromEnv, parseMlflowEnv } from '../tracking/mlflow';
import { RunFolderTracker } from '../tracking/run-folder';
import { RunTracking } from '../tracking/run-tracking';
import { UserError } from '../user-error';
import { cellRunName, sweepFolder, type SweepPlan } from './plan';
import { GROUP_TAGS } from './run-group';

/**
 * The first step of a cloud sweep (a Batch job before the array): the sweep's parent run in MLflow,
 * left RUNNING for the cells to nest under, its id written beside the plan. Returns a line to log.
 */
export async function startCloudSweep(folderUri: string, env: NodeJS.ProcessEnv, out = 'runs'): Promise<string> {
  const folder = sweepFolder(folderUri);
  const plan = await folder.readPlan();
  const tracking = parentTracking(env, join(out, plan.sweepId));
  await tracking.startRun({
    runName: plan.sweepId,
    runDir: join(out, plan.sweepId),
    description: describeSweep(plan),
    tags: { [GROUP_TAGS.kind]: 'sweep', [GROUP_TAGS.name]: plan.sweepId },
  });
  await tracking.logParams({ ...optionParams(sharedOptions(plan)), cells: plan.cells.length });
  const runId = tracking.server?.runId;
  await folder.writeParent({ runId, runDir: join(out, plan.sweepId) });
  return `sweep ${plan.sweepId}: parent run ${runId} in MLflow, ${plan.cells.length} cells`;
}

/**
 * The last step of a cloud sweep (after the array, whether or not every cell succeeded): the cells'
 * runs read back from MLflow, compared, and the comparison logged to the parent run, which ends
 * FINISHED when at least one cell finished. Returns the comparison's path.
 */
export async function finishCloudSweep(folderUri: string, out: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const folder = sweepFolder(folderUri);
  const plan = await folder.readPlan();
  const parent = await folder.readParent();
  if (!parent?.runId) throw new UserError(`${folder.description} has no parent run (sweep-start writes it): run sweep-start first`);
  const settings = parseMlflowEnv(env);
  if (!settings) throw new UserError('sweep-finish reads the cells\' runs from MLflow: set MLFLOW_TRACKING_URI');
  const client = createMlflowClient(settings);
  const experimentId = (await client.getRun(parent.runId)).info.experiment_id;
  const cache = join(out, '.sweep-cells', plan.sweepId);
  const runs = await Promise.all((await childRunIds(client, experimentId, parent.runId)).map((id) => readMlflowRun(client, id, cache)));
  const seen = new Set(runs.map((run) => run.tags[GROUP_TAGS.member]));
  const missing = plan.cells.filter((cell) => !seen.has(cell.name)).map((cell) => ({ name: cell.name, reason: `no run in MLflow (its job failed before ${cellRunName(cell)} started)` }));
  const groupDir = join(out, plan.sweepId);
  const comparison = await compareRuns(groupDir, runs, { title: `Sweep ${plan.sweepId}`, missing });
  for (const warning of comparison.warnings) log(`warning: ${warning}`);
  log(`comparison: ${comparison.report}`);
  const tracking = parentTracking(env, groupDir, parent.runId);
  await tracking.startRun({ runName: plan.sweepId, runDir: groupDir, description: describeSweep(plan), tags: {} });
  const finished = runs.some((run) => run.status === 'FINISHED');
  await tracking.endRunKeepingUnsent({
    status: finished ? 'FINISHED' : 'FAILED', testMetrics: comparison.summary, error: finished ? undefined : 'no cell finished',
  }, log);
  return comparison.report;
}

function parentTracking(env: NodeJS.ProcessEnv, runDir: string, resumeRunId?: string): RunTracking {
  const mlflow = createMlflowTrackerFromEnv(env, { registerModel: '', resumeRunId });
  if (!mlflow) throw new UserError('a cloud sweep\'s parent run lives in MLflow: set MLFLOW_TRACKING_URI');
  return new RunTracking(new RunFolderTracker(runDir), mlflow);
}

/** The options every cell shares: what the sweep holds fixed. */
export function sharedOptions(plan: SweepPlan): Record<string, unknown> {
  const first = plan.cells[0].options;
  return Object.fromEntries(Object.entries(first).filter(([key]) => plan.cells.every((c) => JSON.stringify(c.options[key]) === JSON.stringify(first[key]))));
}

export function describeSweep(plan: SweepPlan): string {
  return `A sweep of ${plan.cells.length} trainings: ${plan.cells.map((c) => c.name).join('; ')}.`;
}
