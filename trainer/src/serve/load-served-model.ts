import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../user-error';
import { loadModel } from '../models/model-files';
import type { MlflowClient } from '../tracking/mlflow/client';
import { downloadArtifacts } from '../tracking/mlflow/artifacts/download';
import { locateModelFolder, readRunMetrics, runName } from './model-folder';
import { createModelExplainer } from './model-explainer';
import { createModelPredictor } from './model-predictor';
import { parseModelSource, type ModelSource } from './model-source';
import type { ServedModel } from './served-model';

export interface LoadServedModelOptions {
  /** Resolves runs:/ and models:/ sources; without it only folders load. */
  readonly mlflow?: MlflowClient;
  /** Where MLflow artifacts are downloaded. @default a new folder under the system temp folder */
  readonly downloadDir?: string;
  readonly log?: (line: string) => void;
}

/** Loads the model `--model` names, from disk or through MLflow, and what the server reports about it. */
export async function loadServedModel(argument: string, options: LoadServedModelOptions = {}): Promise<ServedModel> {
  const source = parseModelSource(argument);
  const found = source.kind === 'folder' ? await fromFolder(source.path) : await fromMlflow(source, options);
  const { model, preprocessing } = await loadModel(found.modelDir);
  const info = {
    name: found.name ?? preprocessing.model,
    version: found.version,
    source: argument,
    preprocessing,
    metrics: found.metrics,
  };
  return { info, predict: createModelPredictor(model, preprocessing), explain: createModelExplainer(model, preprocessing) };
}

interface FoundModel {
  readonly modelDir: string;
  /** @default the architecture name from preprocessing.json */
  readonly name?: string;
  readonly version: string;
  readonly metrics?: Record<string, number>;
}

async function fromFolder(path: string): Promise<FoundModel> {
  const folder = await locateModelFolder(path);
  const metrics = folder.runDir ? await readRunMetrics(folder.runDir) : undefined;
  return { modelDir: folder.modelDir, version: runName(folder), metrics };
}

async function fromMlflow(source: Exclude<ModelSource, { kind: 'folder' }>, options: LoadServedModelOptions): Promise<FoundModel> {
  const client = options.mlflow;
  if (!client) throw new UserError(`--model ${source.uri}: set MLFLOW_TRACKING_URI to load a model from MLflow`);
  const destDir = options.downloadDir ?? (await mkdtemp(join(tmpdir(), 'malaria-serve-')));
  const log = options.log ?? (() => undefined);
  if (source.kind === 'run') {
    log(`downloading ${source.uri} from ${client.trackingUri}`);
    const modelDir = await downloaded(client, source.uri, destDir);
    return { modelDir, version: source.runId, metrics: await runMetrics(client, source.runId) };
  }
  if (source.kind === 'logged-model') {
    const model = await client.getLoggedModel(source.modelId);
    log(`downloading ${source.uri} (${model.info.name}, from run ${model.info.source_run_id ?? '?'}) from ${client.trackingUri}`);
    const modelDir = await downloaded(client, source.uri, destDir);
    // The metrics MLflow 3 linked to this model (the test metrics), else its run's.
    const linked = Object.fromEntries(model.data.metrics.map((m) => [m.key, m.value]));
    const metrics = Object.keys(linked).length || !model.info.source_run_id ? linked : await runMetrics(client, model.info.source_run_id);
    return { modelDir, version: source.modelId, metrics };
  }
  const version = source.alias
    ? await client.getModelVersionByAlias(source.name, source.alias)
    : await client.getModelVersion(source.name, source.version ?? '');
  if (!version) {
    throw new UserError(`--model ${source.uri}: model ${source.name} has no alias "${source.alias}" in ${client.trackingUri}`);
  }
  // Download the resolved version, not the alias, so an alias moved meanwhile cannot mix two versions.
  const pinned = `models:/${source.name}/${version.version}`;
  log(`downloading ${pinned}${source.alias ? ` (@${source.alias})` : ''} from ${client.trackingUri}`);
  const modelDir = await downloaded(client, pinned, destDir);
  const metrics = version.run_id ? await runMetrics(client, version.run_id) : undefined;
  return { modelDir, name: source.name, version: version.version, metrics };
}

/** Downloads a model and finds model.json in it, whether it was logged as a folder's contents or inside model/. */
async function downloaded(client: MlflowClient, uri: string, destDir: string): Promise<string> {
  return (await locateModelFolder(await downloadArtifacts(client, uri, destDir))).modelDir;
}

/** The run's latest value of each metric: what the registry's version was judged on. */
async function runMetrics(client: MlflowClient, runId: string): Promise<Record<string, number>> {
  const run = await client.getRun(runId);
  return Object.fromEntries(run.data.metrics.map((metric) => [metric.key, metric.value]));
}
