import { artifactStoreFor } from './artifacts/store-for-uri';
import { isMissingEndpoint, type MlflowClient } from './client';
import { describeError } from './errors';
import { readModelFolder, uploadModelFolder, type ModelFolder } from './model-upload';
import type { OutboxOp } from './outbox';
import type { LoggedModel } from './schemas';
import { quoteFilter, runLocation, type SendContext } from './send-context';

type ModelOp = Extract<OutboxOp, { op: 'model' }>;

/**
 * The logged model's name. MLflow 3 resolves `runs:/<run_id>/model` to the run's logged model of
 * this name, so the run URI users know keeps working.
 */
export const LOGGED_MODEL_NAME = 'model';
export const LOGGED_MODEL_TYPE = 'image-classifier';
/** Where a 2.x server gets the model: run artifacts, as MLflow 2's log_model puts it. */
export const RUN_MODEL_PATH = 'model';
export const LOGGED_MODELS_TAG = 'mlflow.log-model.history';

/**
 * Logs the trained model. MLflow 3: a LoggedModel (created, files uploaded to its own location,
 * finalized READY, or UPLOAD_FAILED when the upload fails), recorded as an output of the run,
 * with the test metrics linked to it and to the data set. A server without the logged-model API
 * (MLflow 2.x, known by its 404) gets the model as run artifacts under `model/`.
 */
export async function logModel(op: ModelOp, ctx: SendContext, modelDir: string): Promise<void> {
  const folder = await readModelFolder(modelDir);
  const { runId, experimentId, artifactUri } = await runLocation(ctx);
  const model = await findOrCreateLoggedModel(ctx, runId, experimentId);
  if (!model) {
    await logRunArtifactModel(ctx, runId, artifactUri, folder);
    return;
  }
  const { client } = ctx;
  const modelId = model.info.model_id;
  if (model.info.status !== 'LOGGED_MODEL_READY') {
    let history: Record<string, unknown>;
    try {
      const store = artifactStoreFor(model.info.artifact_uri, client);
      ({ historyEntry: history } = await uploadModelFolder(store, folder, {
        runId, artifactPath: model.info.artifact_uri, storePath: '', modelId, onProgress: ctx.onUploadProgress,
      }));
    } catch (error) {
      // Marked so that the Models tab does not show it as pending forever; a resend makes a new one.
      await client.finalizeLoggedModel(modelId, 'LOGGED_MODEL_UPLOAD_FAILED').catch(() => undefined);
      throw error;
    }
    await client.finalizeLoggedModel(modelId, 'LOGGED_MODEL_READY');
    await client.logBatch(runId, { tags: [{ key: LOGGED_MODELS_TAG, value: JSON.stringify([history]) }], metrics: [], params: [] });
  }
  ctx.run.modelId = modelId;
  await client.logOutputs(runId, [{ modelId, step: op.step }]);
  const metrics = Object.entries(op.metrics).map(([key, value]) => ({
    key, value, timestamp: op.timestamp, step: op.step, model_id: modelId,
    ...(op.dataset ? { dataset_name: op.dataset.name, dataset_digest: op.dataset.digest } : {}),
  }));
  if (metrics.length) await client.logBatch(runId, { metrics, params: [], tags: [] });
  ctx.log(`logged model ${modelId} (READY), an output of the run: ${client.trackingUri}/#/experiments/${experimentId}/models/${modelId}`);
}

/**
 * This run's logged model: one an earlier attempt created (a resend must not make two), else a
 * new one carrying the run's params. Undefined when the server has no logged models (MLflow 2.x).
 */
async function findOrCreateLoggedModel(ctx: SendContext, runId: string, experimentId: string): Promise<LoggedModel | undefined> {
  const { client } = ctx;
  try {
    const earlier = await findLoggedModel(client, runId, experimentId);
    if (earlier) return earlier;
    const { data } = await client.getRun(runId);
    return await client.createLoggedModel({
      experimentId,
      name: LOGGED_MODEL_NAME,
      modelType: LOGGED_MODEL_TYPE,
      sourceRunId: runId,
      params: data.params,
      tags: data.tags.filter((t) => t.key === 'model' || t.key === 'backend'),
    });
  } catch (error) {
    if (!isMissingEndpoint(error)) throw error;
    ctx.log(`the server has no logged-model API (MLflow 2.x: ${describeError(error)}); the model goes to the run's artifacts`);
    return undefined;
  }
}

/** The run's own logged model, unless its upload failed. */
export async function findLoggedModel(client: MlflowClient, runId: string, experimentId: string): Promise<LoggedModel | undefined> {
  const filter = `source_run_id = ${quoteFilter(runId)} AND name = ${quoteFilter(LOGGED_MODEL_NAME)}`;
  const found = await client.searchLoggedModels([experimentId], { filter });
  return found.items.find((m) => m.info.status !== 'LOGGED_MODEL_UPLOAD_FAILED');
}

/** MLflow 2.x: the model under the run's `model/`, with the MLmodel file and the history tag. */
async function logRunArtifactModel(ctx: SendContext, runId: string, artifactUri: string, folder: ModelFolder): Promise<void> {
  const store = artifactStoreFor(artifactUri, ctx.client);
  const { historyEntry } = await uploadModelFolder(store, folder, { runId, artifactPath: RUN_MODEL_PATH, storePath: RUN_MODEL_PATH, onProgress: ctx.onUploadProgress });
  await ctx.client.logBatch(runId, { tags: [{ key: LOGGED_MODELS_TAG, value: JSON.stringify([historyEntry]) }], metrics: [], params: [] });
  ctx.log(`logged the model as ${RUN_MODEL_PATH}/ of the run (MLmodel, tfjs flavor)`);
}
