import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../user-error';
import { RUN_RECORD_FILE } from '../run-folder';
import { artifactStoreFor } from './artifacts/store-for-uri';
import { uploadDirectory } from './artifacts/upload-directory';
import { logDataset } from './dataset-input';
import { logModel } from './log-model';
import { OUTBOX_PATTERN, type OutboxOp } from './outbox';
import { registerModel } from './register-model';
import type { KeyValue } from './schemas';
import { requireRun, runLocation, type SendContext } from './send-context';

const toKeyValues = (record: Readonly<Record<string, string>>): KeyValue[] =>
  Object.entries(record).map(([key, value]) => ({ key, value }));

/** Sends one operation. Safe to repeat after a failure: MLflow accepts the same values twice. */
export async function sendOp(op: OutboxOp, ctx: SendContext): Promise<void> {
  switch (op.op) {
    case 'start':
      return startRun(op, ctx);
    case 'params':
      await ctx.client.logBatch(requireRun(ctx), { params: toKeyValues(op.params), metrics: [], tags: [] });
      return;
    case 'tags':
      await ctx.client.logBatch(requireRun(ctx), { tags: toKeyValues(op.tags), metrics: [], params: [] });
      return;
    case 'metrics':
      await ctx.client.logBatch(requireRun(ctx), { metrics: op.metrics, params: [], tags: [] });
      return;
    case 'dataset':
      return logDataset(op, ctx);
    case 'artifacts':
      return uploadRunFiles(op, ctx);
    case 'model':
      return logModel(op, ctx, resolveFrom(ctx.baseDir, op.modelDir));
    case 'register':
      return registerModel(op, ctx, op.modelDir && resolveFrom(ctx.baseDir, op.modelDir));
    case 'finish':
      await ctx.client.updateRun(requireRun(ctx), { status: op.status, endTime: op.endTime });
      return;
  }
}

async function startRun(op: Extract<OutboxOp, { op: 'start' }>, ctx: SendContext): Promise<void> {
  if (op.resumeRunId) {
    const run = await ctx.client.getRun(op.resumeRunId);
    if (run.info.lifecycle_stage !== 'active') {
      throw new UserError(`MLflow run ${op.resumeRunId} is ${run.info.lifecycle_stage}: it cannot be resumed; start a new run instead`);
    }
    await ctx.client.updateRun(op.resumeRunId, { status: 'RUNNING' });
    Object.assign(ctx.run, { runId: run.info.run_id, experimentId: run.info.experiment_id, artifactUri: run.info.artifact_uri });
    ctx.log(`resumed MLflow run ${run.info.run_id}`);
    return;
  }
  const experiment = await ctx.client.getOrCreateExperiment(ctx.experimentName);
  const systemTags: Record<string, string> = {
    'mlflow.runName': op.runName,
    'mlflow.user': op.user,
    'mlflow.source.name': op.sourceName,
    'mlflow.source.type': op.sourceType,
    'mlflow.note.content': op.description,
    ...(op.gitCommit ? { 'mlflow.source.git.commit': op.gitCommit } : {}),
  };
  const run = await ctx.client.createRun({
    experimentId: experiment.experiment_id,
    runName: op.runName,
    startTime: op.startTime,
    userId: op.user,
    tags: toKeyValues({ ...op.tags, ...systemTags }),
  });
  Object.assign(ctx.run, { runId: run.info.run_id, experimentId: experiment.experiment_id, artifactUri: run.info.artifact_uri });
  ctx.log(`MLflow run ${run.info.run_id} in experiment '${experiment.name}': ${ctx.client.trackingUri}/#/experiments/${experiment.experiment_id}/runs/${run.info.run_id}`);
}

function resolveFrom(baseDir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(baseDir, p);
}

/**
 * The run folder as run artifacts, less the outbox, the model folder (the `model` operation sends
 * that) and the folders of other runs inside it (a sweep's or a cross-validation's members, each
 * a run of its own with its own artifacts).
 */
async function uploadRunFiles(op: Extract<OutboxOp, { op: 'artifacts' }>, ctx: SendContext): Promise<void> {
  const { artifactUri } = await runLocation(ctx);
  const store = artifactStoreFor(artifactUri, ctx.client);
  const runDir = resolveFrom(ctx.baseDir, op.runDir);
  const modelDir = op.modelDir ? resolveFrom(ctx.baseDir, op.modelDir) : undefined;
  const modelInRunDir = modelDir ? path.relative(runDir, modelDir).split(path.sep).join('/') : undefined;
  const insideRun = modelInRunDir !== undefined && !modelInRunDir.startsWith('..') && !path.isAbsolute(modelInRunDir);
  const otherRuns = await nestedRunFolders(runDir);
  const under = (rel: string, dir: string) => rel === dir || rel.startsWith(`${dir}/`);
  const exclude = (rel: string) =>
    OUTBOX_PATTERN.test(rel) || (insideRun && under(rel, modelInRunDir)) || otherRuns.some((dir) => under(rel, dir));
  const sent = await uploadDirectory(store, runDir, '', { label: 'run files', exclude, onProgress: ctx.onUploadProgress });
  ctx.log(`uploaded ${sent.files} run file(s) (${(sent.bytes / 1e6).toFixed(1)} MB) to ${artifactUri}`);
}

/** Subfolders (relative, with `/`) that hold a run record of their own. */
async function nestedRunFolders(runDir: string): Promise<string[]> {
  const entries = await readdir(runDir, { recursive: true }).catch(() => [] as string[]);
  return entries
    .map((entry) => entry.split(path.sep).join('/'))
    .filter((rel) => rel.endsWith(`/${RUN_RECORD_FILE}`))
    .map((rel) => rel.slice(0, -RUN_RECORD_FILE.length - 1));
}
