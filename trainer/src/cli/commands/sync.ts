import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ExplainedError, UserError } from '../../user-error';
import { type Progress, startProgress } from '../../data/progress';
import type { UploadProgress } from '../../tracking/mlflow/artifacts/upload-directory';
import { createMlflowClient } from '../../tracking/mlflow/create-tracker';
import { parseMlflowEnv } from '../../tracking/mlflow/env';
import { syncCommand } from '../../tracking/mlflow/mlflow-tracker';
import { findOutboxes, readOutbox } from '../../tracking/mlflow/outbox';
import { type ReplayResult, replayOutbox } from '../../tracking/mlflow/replay-outbox';

function stderrLog(line: string): void {
  process.stderr.write(`sync: ${line}\n`);
}

/** One progress display per upload (run files, then model), each with its own total. */
function uploadProgress(show: boolean): { onUploadProgress?: (p: UploadProgress) => void; finish: () => void } {
  if (!show) return { finish: () => undefined };
  let current: { label: string; progress: Progress } | undefined;
  return {
    onUploadProgress: (p) => {
      if (current?.label !== p.label) {
        current?.progress.finish();
        current = { label: p.label, progress: startProgress({ label: `uploading ${p.label}`, total: p.totalBytes, unit: 'bytes' }) };
      }
      current.progress.update(p.bytes, p.totalBytes);
    },
    finish: () => current?.progress.finish(),
  };
}

function describeSent(result: ReplayResult): string {
  const parts = [...result.sent].map(([op, n]) => `${n} ${op}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

/** Sends one outbox file; the server is the one in MLFLOW_TRACKING_URI, else the one it was meant for. */
async function syncFile(file: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<ReplayResult> {
  const outbox = await readOutbox(file);
  const settings = parseMlflowEnv({ ...env, MLFLOW_TRACKING_URI: env.MLFLOW_TRACKING_URI?.trim() || outbox.header.trackingUri });
  if (!settings) throw new UserError(`${file}: no tracking server: set MLFLOW_TRACKING_URI`);
  log(`${file}: ${outbox.entries.length} call(s) for ${settings.connection.trackingUri}${outbox.header.runId ? ` run ${outbox.header.runId}` : ' (run not created yet)'}`);
  const progress = uploadProgress(log === stderrLog);
  try {
    return await replayOutbox(createMlflowClient(settings), outbox, { log, onUploadProgress: progress.onUploadProgress });
  } finally {
    progress.finish();
  }
}

/** A run folder has run.json; anything else given to sync is a mistake worth naming. */
function checkRunFolder(dir: string): void {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such run folder`);
  if (!existsSync(path.join(dir, 'run.json'))) throw new UserError(`${dir} is not a run folder (it has no run.json)`);
}

/**
 * Sends what runs that could not reach MLflow kept in their folders; exits non-zero while anything
 * is left. Run folders with nothing left to send are fine: that is said, and nothing is sent.
 */
export async function syncRunFolders(runDirs: readonly string[], env: NodeJS.ProcessEnv, log: (line: string) => void = stderrLog): Promise<ReplayResult[]> {
  runDirs.forEach(checkRunFolder);
  const files = (await Promise.all(runDirs.map((dir) => findOutboxes(dir)))).flat();
  if (files.length === 0) {
    log(`nothing to send: ${runDirs.join(', ')} ${runDirs.length > 1 ? 'have' : 'has'} no mlflow-outbox.jsonl; MLflow has everything`);
    return [];
  }
  const results: ReplayResult[] = [];
  for (const file of files) {
    const result = await syncFile(file, env, log);
    results.push(result);
    const where = result.runId ? ` to run ${result.runId}` : '';
    log(`${file}: sent ${describeSent(result)}${where}; ${result.remaining ? `${result.remaining} left` : 'file removed'}`);
  }
  const left = results.filter((r) => r.remaining > 0);
  if (left.length) {
    const lines = left.flatMap((r) => [`${r.file}: ${r.remaining} call(s) left`, ...r.errors.map((e) => `  ${e}`)]);
    const again = syncCommand(...new Set(left.map((r) => path.dirname(r.file))));
    // Tracking data left unsent: exit 1, as a training that leaves an outbox does.
    throw new ExplainedError(`MLflow did not take everything:\n${lines.join('\n')}\nOnce the cause is fixed, send the rest with:\n  ${again}`, 1);
  }
  return results;
}

/** `sync <runDir...>`: replays the MLflow outbox of runs that ended while the server was unreachable. */
export function registerSyncCommand(program: Command): Command {
  return program
    .command('sync')
    .description('send to MLflow what runs kept in their folder (mlflow-outbox.jsonl) while the server was unreachable')
    .argument('<runDir...>', 'run folders to sync')
    .action(async (runDirs: string[]) => {
      await syncRunFolders(runDirs, process.env);
    });
}
