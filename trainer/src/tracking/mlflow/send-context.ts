import type { UploadProgress } from './artifacts/upload-directory';
import type { MlflowClient } from './client';

/** What a sent operation learned about its run, for the operations after it. */
export interface SentRun {
  runId?: string;
  experimentId?: string;
  artifactUri?: string;
  /** MLflow 3: the run's logged model, once the model is logged. */
  modelId?: string;
}

/** What sending needs besides the operation: the server, the run it belongs to, where files are. */
export interface SendContext {
  readonly client: MlflowClient;
  readonly experimentName: string;
  /** Filled in by a sent `start` operation (or known from an outbox header). */
  readonly run: SentRun;
  /** Folder that relative paths in operations are resolved against (the run folder). */
  readonly baseDir: string;
  readonly log: (line: string) => void;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
  readonly waitForVersion?: { readonly timeoutMs?: number; readonly pollMs?: number };
}

export function requireRun(ctx: SendContext): string {
  if (!ctx.run.runId) throw new Error('internal: an MLflow operation was sent before its run was created');
  return ctx.run.runId;
}

/** The run's experiment and artifact root; asked of the server once when an outbox resumes a run. */
export async function runLocation(ctx: SendContext): Promise<{ runId: string; experimentId: string; artifactUri: string }> {
  const runId = requireRun(ctx);
  let { experimentId, artifactUri } = ctx.run;
  if (!experimentId || !artifactUri) {
    ({ experiment_id: experimentId, artifact_uri: artifactUri } = (await ctx.client.getRun(runId)).info);
    Object.assign(ctx.run, { experimentId, artifactUri });
  }
  return { runId, experimentId, artifactUri };
}

/** Single quotes for MLflow's search filters. */
export function quoteFilter(value: string): string {
  return `'${value.replace(/'/g, "\\'")}'`;
}
