import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MODEL_CARD_FILE, versionDescription } from '../../evaluate/model-card';
import { decideChampion } from './champion';
import { isMissingEndpoint } from './client';
import { findLoggedModel, RUN_MODEL_PATH } from './log-model';
import type { OutboxOp } from './outbox';
import { quoteFilter, runLocation, type SendContext } from './send-context';

type RegisterOp = Extract<OutboxOp, { op: 'register' }>;

/**
 * Where the new version's files are: MLflow 3's `models:/m-<id>` (the run's logged model), else
 * the run's `model/` folder (MLflow 2.x, or a model that was never logged as a LoggedModel).
 */
async function versionSource(ctx: SendContext): Promise<{ source: string; modelId?: string }> {
  const { runId, experimentId } = await runLocation(ctx);
  let modelId = ctx.run.modelId;
  if (!modelId) {
    try {
      modelId = (await findLoggedModel(ctx.client, runId, experimentId))?.info.model_id;
    } catch (error) {
      if (!isMissingEndpoint(error)) throw error;
    }
  }
  return modelId ? { source: `models:/${modelId}`, modelId } : { source: `runs:/${runId}/${RUN_MODEL_PATH}` };
}

/** The model card in the model folder, or undefined for a model saved without one. */
async function readModelCard(modelDir: string | undefined): Promise<string | undefined> {
  if (!modelDir) return undefined;
  return readFile(path.join(modelDir, MODEL_CARD_FILE), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
}

/**
 * Registers the run's model as a new version of the registered model, with its model card as the
 * version's description (MLflow's UI shows it on the version's page), then moves the champion
 * alias to it only when its metric beats the current champion's.
 */
export async function registerModel(op: RegisterOp, ctx: SendContext, modelDir?: string): Promise<void> {
  const { runId } = await runLocation(ctx);
  const { client } = ctx;
  await client.getOrCreateRegisteredModel(op.modelName, 'Malaria cell classifier (TF.js), registered by the trainer');
  // A resent operation must not register the same run twice.
  const existing = (await client.searchModelVersions({ filter: `name=${quoteFilter(op.modelName)} and run_id=${quoteFilter(runId)}` })).items;
  const created = existing[0] ?? (await client.createModelVersion({ name: op.modelName, runId, ...(await versionSource(ctx)) }));
  const card = await readModelCard(modelDir);
  if (card && !created.description) {
    // The version number is known only now, so the card goes on in a second call.
    const load = `**${op.modelName} version ${created.version}**: \`mlflow.pyfunc.load_model("models:/${op.modelName}/${created.version}")\`, `
      + `\`npm run serve -- --model models:/${op.modelName}/${created.version}\`.`;
    await client.updateModelVersion(op.modelName, created.version, { description: versionDescription(load, card) });
  }
  const version = await client.waitForModelVersionReady(op.modelName, created.version, ctx.waitForVersion);
  ctx.log(`registered ${op.modelName} version ${version.version} from ${version.source}`);
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
