import { resolve } from 'node:path';
import { selectBackend } from '../backend/select-backend';
import { createCheckpointStore } from '../cloud/checkpoint-store';
import { watchSpotInterruption } from '../cloud/instance-metadata';
import { withCloudTelemetry } from '../cloud/run-telemetry';
import { parseStorageLocation } from '../cloud/storage-location';
import type { TrainConfig } from '../config';
import type { RunDeps } from '../pipeline/run-training';
import { verifyMlflowAccess } from '../tracking/mlflow/verify-access';
import type { RunStatus } from '../tracking/tracker';
import { trackingFromEnv } from '../tracking/run-tracking';
import { terminalProgress } from '../train/progress';
import { StopRequests } from '../train/stop-requests';
import { checkWritableFolder } from '../writable-folder';

/** What a training command ends with: how it went, where its folder is, whether tracking data waits in an outbox. */
export interface TrainingResult {
  readonly status: RunStatus;
  /** Printed last, so scripts can `dir=$(npm run -s train ...)`: a run's folder, a group's comparison report. */
  readonly folder: string;
  readonly unsynced?: string;
  /** Members of a group (sweep cells, folds) that failed: the others still ran, and the command says so. */
  readonly failed?: number;
}

export function logLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * The command's edge for training commands (train, sweep, sweep-cell): the output folders and the
 * MLflow address are checked before any image is read (for every config of a group), then the
 * backend, tracking and checkpoints are chosen here and handed in; Ctrl-C, SIGTERM and spot notices
 * become stop requests (what each one does is `StopRequests.nextEffect`). Prints the folder last
 * and sets the exit code: 130 interrupted; 1 failed, a group member failed, or tracking data left
 * unsent.
 */
export async function atTrainingEdge(
  config: TrainConfig, work: (deps: RunDeps) => Promise<TrainingResult>, configs: readonly TrainConfig[] = [config],
): Promise<void> {
  const stop = new StopRequests(() => process.exit(130));
  const requestStop = (what: string) => {
    process.stderr.write(`\n${what}: ${stop.nextEffect}\n`);
    stop.request();
  };
  const onSignal = (signal: NodeJS.Signals) => requestStop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let stopWatching = () => undefined as void;
  try {
    const tracking = trackingFromEnv(process.env, { ...config, signal: stop.signal });
    await checkOutputFolders(configs, stop.signal);
    await verifyMlflowAccess(process.env);
    // A GPU run also logs its GPUs' readings, GPU time and cost.
    const openTracking = config.requireGpu ? withCloudTelemetry(tracking, { log: logLine }) : tracking;
    const backend = await selectBackend(config.backend, { threads: config.threads });
    const checkpoints = config.checkpointUri ? createCheckpointStore(config.checkpointUri) : undefined;
    // On a spot instance the two-minute notice comes through the metadata service, not as a signal;
    // off EC2 the first poll finds no service and polling ends.
    if (checkpoints) stopWatching = watchSpotInterruption((action) => requestStop(`spot interruption (${action})`));
    const result = await work({ backend, progress: terminalProgress(), stop, env: process.env, log: logLine, checkpoints, openTracking });
    process.stdout.write(`${result.folder}\n`);
    if (result.failed) logLine(`warning: ${result.failed} of the group's trainings did not finish; the comparison lists why`);
    if (result.status === 'KILLED') process.exitCode = 130;
    else if (result.unsynced || result.failed || result.status === 'FAILED') process.exitCode = 1;
  } finally {
    stopWatching();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Every --out and local --checkpoint-uri of the command, created and written to before any image is
 * decoded: a read-only, full or hung file system is said at once, not after an epoch.
 */
async function checkOutputFolders(configs: readonly TrainConfig[], signal: AbortSignal): Promise<void> {
  const folders = new Map<string, string>();
  for (const { out, checkpointUri } of configs) {
    folders.set(resolve(out), '--out');
    if (checkpointUri && parseStorageLocation(checkpointUri, '--checkpoint-uri').kind === 'folder') folders.set(resolve(checkpointUri), '--checkpoint-uri');
  }
  for (const [folder, flag] of folders) await checkWritableFolder(folder, { flag, signal, log: logLine });
}
