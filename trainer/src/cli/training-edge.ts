import { selectBackend } from '../backend/select-backend';
import { createCheckpointStore } from '../cloud/checkpoint-store';
import { watchSpotInterruption } from '../cloud/instance-metadata';
import { withCloudTelemetry } from '../cloud/run-telemetry';
import type { TrainConfig } from '../config';
import type { RunDeps } from '../pipeline/run-training';
import type { RunStatus } from '../tracking/tracker';
import { trackingFromEnv } from '../tracking/run-tracking';
import { terminalProgress } from '../train/progress';
import { StopRequests } from '../train/stop-requests';

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
 * The command's edge for training commands (train, sweep, sweep-cell): the backend, tracking and
 * checkpoints are chosen here and handed in; Ctrl-C, SIGTERM and spot notices become stop
 * requests (the first stops after the current step, a second quits at once). Prints the folder
 * last and sets the exit code: 130 interrupted; 1 failed, a group member failed, or tracking data
 * left unsent.
 */
export async function atTrainingEdge(config: TrainConfig, work: (deps: RunDeps) => Promise<TrainingResult>): Promise<void> {
  const stop = new StopRequests(() => process.exit(130));
  const tracking = trackingFromEnv(process.env, { ...config, signal: stop.signal });
  // A GPU run also logs its GPUs' readings, GPU time and cost.
  const openTracking = config.requireGpu ? withCloudTelemetry(tracking, { log: logLine }) : tracking;
  const backend = await selectBackend(config.backend, { threads: config.threads });
  const checkpoints = config.checkpointUri ? createCheckpointStore(config.checkpointUri) : undefined;
  const requestStop = (what: string) => {
    process.stderr.write(stop.signal.aborted
      ? `\n${what}: quitting at once (second stop request)\n`
      : `\n${what}: stopping after this step and saving the best model so far (again to quit at once)\n`);
    stop.request();
  };
  const onSignal = (signal: NodeJS.Signals) => requestStop(signal);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // On a spot instance the two-minute notice comes through the metadata service, not as a signal;
  // off EC2 the first poll finds no service and polling ends.
  const stopWatching = checkpoints
    ? watchSpotInterruption((action) => requestStop(`spot interruption (${action})`))
    : () => undefined;
  try {
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
