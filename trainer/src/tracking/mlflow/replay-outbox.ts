import path from 'node:path';
import type { UploadProgress } from './artifacts/upload-directory';
import type { MlflowClient } from './client';
import { OpQueue } from './op-queue';
import { sendOp } from './op-sender';
import { type Outbox, type OutboxOp, summarizeUnsent, writeOutbox } from './outbox';
import type { SentRun } from './send-context';

export interface ReplayResult {
  readonly file: string;
  /** Operations sent, by kind. */
  readonly sent: ReadonlyMap<OutboxOp['op'], number>;
  /** Operations still in the file. */
  readonly remaining: number;
  /** Why they are still there. */
  readonly errors: readonly string[];
  readonly runId?: string;
}

export interface ReplayOptions {
  readonly log: (line: string) => void;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
}

/**
 * Sends an outbox's operations in order, then rewrites the file with what is still unsent (or
 * deletes it when everything went), so a second sync resumes where the first stopped.
 */
export async function replayOutbox(client: MlflowClient, outbox: Outbox, options: ReplayOptions): Promise<ReplayResult> {
  const queue = new OpQueue();
  for (const entry of outbox.entries) queue.push(entry.op, entry.error);
  const run: SentRun = { runId: outbox.header.runId ?? undefined };
  const ctx = {
    client,
    experimentName: outbox.header.experimentName,
    run,
    baseDir: path.dirname(outbox.file),
    log: options.log,
    onUploadProgress: options.onUploadProgress,
  };
  await queue.flush((op) => sendOp(op, ctx));
  const unsent = queue.unsent();
  await writeOutbox(outbox.file, { ...outbox.header, runId: run.runId ?? null, savedAt: new Date().toISOString() }, unsent);
  return {
    file: outbox.file,
    sent: queue.sent,
    remaining: unsent.length,
    errors: summarizeUnsent(unsent),
    runId: run.runId,
  };
}
