import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../user-error';
import type { Preprocessing } from '../../models/preprocessing';
import { uploadDirectory, type UploadProgress } from './artifacts/upload-directory';
import { artifactStoreFor } from './artifacts/store-for-uri';
import { decideChampion } from './champion';
import type { MlflowClient } from './client';
import { buildMlmodel, INPUT_EXAMPLE_FILE } from './mlmodel';
import { OUTBOX_PATTERN, type OutboxOp } from './outbox';
import type { KeyValue } from './schemas';

export const MODEL_ARTIFACT_PATH = 'model';
export const LOGGED_MODELS_TAG = 'mlflow.log-model.history';

/** What sending needs besides the operation: the server, the run it belongs to, where files are. */
export interface SendContext {
  readonly client: MlflowClient;
  readonly experimentName: string;
  /** Filled in by a sent `start` operation (or known from an outbox header). */
  readonly run: { runId?: string; artifactUri?: string };
  /** Folder that relative paths in operations are resolved against (the run folder). */
  readonly baseDir: string;
  readonly log: (line: string) => void;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
  readonly waitForVersion?: { readonly timeoutMs?: number; readonly pollMs?: number };
}

const toKeyValues = (record: Readonly<Record<string, string>>): KeyValue[] =>
  Object.entries(record).map(([key, value]) => ({ key, value }));

function requireRun(ctx: SendContext): string {
  if (!ctx.run.runId) throw new Error('internal: an MLflow operation was sent before its run was created');
  return ctx.run.runId;
}

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
      return uploadArtifacts(op, ctx);
    case 'register':
      return registerModel(op, ctx);
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
    ctx.run.runId = run.info.run_id;
    ctx.run.artifactUri = run.info.artifact_uri;
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
  ctx.run.runId = run.info.run_id;
  ctx.run.artifactUri = run.info.artifact_uri;
  ctx.log(`MLflow run ${run.info.run_id} in experiment '${experiment.name}': ${ctx.client.trackingUri}/#/experiments/${experiment.experiment_id}/runs/${run.info.run_id}`);
}

/** Digests are stored in a 36-character column; longer content hashes are cut (they stay unique in practice). */
const MAX_DIGEST = 36;

async function logDataset(op: Extract<OutboxOp, { op: 'dataset' }>, ctx: SendContext): Promise<void> {
  const total = op.counts.train + op.counts.validation + op.counts.test;
  const sourceType = /^https?:/.test(op.source) ? 'http' : /^s3:/.test(op.source) ? 's3' : op.source.startsWith('synthetic') ? 'code' : 'local';
  await ctx.client.logInputs(requireRun(ctx), [
    {
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: {
        name: op.name,
        digest: op.digest.slice(0, MAX_DIGEST),
        source_type: sourceType,
        source: JSON.stringify(sourceType === 'http' ? { url: op.source } : { uri: op.source }),
        profile: JSON.stringify({
          num_rows: total,
          train_rows: op.counts.train,
          validation_rows: op.counts.validation,
          test_rows: op.counts.test,
          digest: op.digest,
          split_digest: op.splitDigest,
        }),
      },
    },
  ]);
}

function resolveFrom(baseDir: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(baseDir, p);
}

async function uploadArtifacts(op: Extract<OutboxOp, { op: 'artifacts' }>, ctx: SendContext): Promise<void> {
  const runId = requireRun(ctx);
  const artifactUri = ctx.run.artifactUri ?? (await ctx.client.getRun(runId)).info.artifact_uri;
  const store = artifactStoreFor(artifactUri, ctx.client);
  const runDir = resolveFrom(ctx.baseDir, op.runDir);
  const modelDir = op.modelDir ? resolveFrom(ctx.baseDir, op.modelDir) : undefined;
  const modelInRunDir = modelDir ? path.relative(runDir, modelDir).split(path.sep).join('/') : undefined;
  const insideRun = modelInRunDir !== undefined && !modelInRunDir.startsWith('..') && !path.isAbsolute(modelInRunDir);
  const exclude = (rel: string) =>
    OUTBOX_PATTERN.test(rel) || (insideRun && (rel === modelInRunDir || rel.startsWith(`${modelInRunDir}/`)));
  const sent = await uploadDirectory(store, runDir, '', { label: 'run files', exclude, onProgress: ctx.onUploadProgress });
  ctx.log(`uploaded ${sent.files} run file(s) (${(sent.bytes / 1e6).toFixed(1)} MB) to ${artifactUri}`);
  if (modelDir) await logModel(modelDir, runId, ctx, store);
}

async function logModel(modelDir: string, runId: string, ctx: SendContext, store: ReturnType<typeof artifactStoreFor>): Promise<void> {
  const files = await readdir(modelDir);
  if (!files.includes('model.json') || !files.includes('preprocessing.json')) {
    throw new UserError(`${modelDir} is not a saved TF.js model (model.json and preprocessing.json expected)`);
  }
  const preprocessing = JSON.parse(await readFile(path.join(modelDir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  const model = buildMlmodel({ runId, artifactPath: MODEL_ARTIFACT_PATH, files, preprocessing, modelUuid: randomUUID().replace(/-/g, ''), createdAt: new Date() });
  await uploadDirectory(store, modelDir, MODEL_ARTIFACT_PATH, { label: 'model', onProgress: ctx.onUploadProgress });
  const staging = await mkdtemp(path.join(tmpdir(), 'mlmodel-'));
  try {
    await writeFile(path.join(staging, 'MLmodel'), model.mlmodel);
    await writeFile(path.join(staging, INPUT_EXAMPLE_FILE), model.inputExample);
    await uploadDirectory(store, staging, MODEL_ARTIFACT_PATH);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await ctx.client.logBatch(runId, { tags: [{ key: LOGGED_MODELS_TAG, value: JSON.stringify([model.historyEntry]) }], metrics: [], params: [] });
  ctx.log(`logged the model as ${MODEL_ARTIFACT_PATH}/ (MLmodel, tfjs flavor)`);
}

function quoteFilter(value: string): string {
  return `'${value.replace(/'/g, "\\'")}'`;
}

async function registerModel(op: Extract<OutboxOp, { op: 'register' }>, ctx: SendContext): Promise<void> {
  const runId = requireRun(ctx);
  const { client } = ctx;
  await client.getOrCreateRegisteredModel(op.modelName, 'Malaria cell classifier (TF.js), registered by the trainer');
  // A resent operation must not register the same run twice.
  const existing = (await client.searchModelVersions({ filter: `name=${quoteFilter(op.modelName)} and run_id=${quoteFilter(runId)}` })).items;
  const created = existing[0] ?? (await client.createModelVersion({ name: op.modelName, source: `runs:/${runId}/${MODEL_ARTIFACT_PATH}`, runId }));
  const version = await client.waitForModelVersionReady(op.modelName, created.version, ctx.waitForVersion);
  ctx.log(`registered ${op.modelName} version ${version.version}`);
  const champion = await client.getModelVersionByAlias(op.modelName, op.alias);
  if (champion?.version === version.version) return;
  const championValue = champion?.run_id
    ? (await client.getRun(champion.run_id)).data.metrics.find((m) => m.key === op.metric)?.value
    : undefined;
  const decision = decideChampion(op.metric, op.value, championValue, op.greaterIsBetter);
  if (decision.promote) {
    await client.setRegisteredModelAlias(op.modelName, op.alias, version.version);
    ctx.log(`alias '${op.alias}' now points at version ${version.version}: ${decision.reason}`);
  } else {
    ctx.log(`alias '${op.alias}' stays on version ${champion?.version ?? '(none)'}: ${decision.reason}`);
  }
}
