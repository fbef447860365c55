import { parseMlflowEnv } from './mlflow/env';
import { createMlflowTrackerFromEnv } from './mlflow/create-tracker';
import { MlflowOutboxError, type ChampionSummary } from './mlflow/mlflow-tracker';
import { FanOutTracker } from './fan-out-tracker';
import { RunFolderTracker } from './run-folder';
import type { RunEnd, Tracker } from './tracker';

/** A tracking server's side of a run: what a resumed run needs beyond the Tracker calls. */
export interface ServerTracker extends Tracker {
  /** The server's id of the run, kept in checkpoints so a restarted run continues it. */
  readonly runId?: string;
  /** The last step the server holds for `metric`, undefined when none. */
  lastLoggedStep(metric: string): Promise<number | undefined>;
  /** The registry's current champion, when the server has a registry and one. */
  currentChampion?(): Promise<ChampionSummary | undefined>;
  /** For a process about to quit: ends the run on the server within seconds, or keeps its end for `sync`. */
  endAtOnce?(reason: string): Promise<void>;
}

/** The tracker a run writes to: its folder always, and a tracking server when one is configured. */
export class RunTracking extends FanOutTracker {
  /** `serverName` says where the server is, for the log: `MLflow at http://...`. */
  constructor(readonly folder: RunFolderTracker, readonly server?: ServerTracker, readonly serverName?: string) {
    super(server ? [folder, server] : [folder]);
  }

  /**
   * The epochs a resumed run finished before it stopped: all into its folder, and to the server
   * only those it lacks (checkpoints are written before an epoch's metrics are sent, so the server
   * may miss the last ones, and must never hold one twice).
   */
  async logResumedEpochs(history: readonly { readonly epoch: number }[]): Promise<void> {
    const lastOnServer = this.server && history.length ? ((await this.server.lastLoggedStep('loss')) ?? 0) : Infinity;
    for (const { epoch, ...metrics } of history) {
      const values = metrics as Record<string, number>;
      await this.folder.logMetrics(values, epoch);
      if (epoch > lastOnServer) await this.server?.logMetrics(values, epoch);
    }
  }

  /**
   * Ends the run everywhere; what the server did not take stays in the run folder (the outbox,
   * for `sync`) and is reported, not thrown. Returns the outbox file, if one was written.
   */
  async endRunKeepingUnsent(end: RunEnd, log: (line: string) => void): Promise<string | undefined> {
    try {
      await this.endRun(end);
      return undefined;
    } catch (error) {
      if (!(error instanceof MlflowOutboxError)) throw error;
      log(`warning: ${error.message}`);
      return error.outboxFile;
    }
  }

  /**
   * For a process about to quit (a second Ctrl-C): the folder's record ends KILLED at once, and the
   * server's run within seconds (or its end waits in the outbox for `sync`): never RUNNING.
   */
  endAtOnce(reason: string): Promise<void> | undefined {
    this.folder.endRunSync({ status: 'KILLED', error: reason });
    return this.server?.endAtOnce?.(reason);
  }
}

/** Builds a run's tracking once its folder is known; the MLflow run to continue comes from a checkpoint. */
export type OpenTracking = (run: { readonly runDir: string; readonly resumeRunId?: string }) => RunTracking;

/**
 * Tracking as the environment configures it (MLFLOW_TRACKING_URI and friends, as MLflow's own
 * client reads them). The variables are checked now, so a malformed one fails before any data is read.
 */
export function trackingFromEnv(
  env: NodeJS.ProcessEnv,
  options: { registerModel: string; championMetric: string; /** Aborting skips the retries still waiting. */ signal?: AbortSignal },
): OpenTracking {
  parseMlflowEnv(env);
  return ({ runDir, resumeRunId }) => {
    const { registerModel, championMetric, signal } = options;
    const mlflow = createMlflowTrackerFromEnv(env, { registerModel, championMetric, signal, resumeRunId });
    return new RunTracking(new RunFolderTracker(runDir), mlflow, mlflow && `MLflow at ${env.MLFLOW_TRACKING_URI}`);
  };
}
