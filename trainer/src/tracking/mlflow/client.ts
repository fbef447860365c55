import type { z } from 'zod';
import { UserError } from '../../user-error';
import { type BatchItems, splitBatch, validateBatch } from './batch';
import type { ArtifactSettings, MlflowConnection } from './env';
import { isMlflowErrorAnswer, MlflowApiError, MlflowResponseError, MlflowUnavailableError } from './errors';
import { type HttpRequest, HttpTransport, summarize, type TransportHooks } from './http';
import {
  type DatasetInputEntry,
  type Experiment,
  type FileInfo,
  type KeyValue,
  type LoggedModel,
  type LoggedModelStatus,
  type Metric,
  type MlflowRunStatus,
  type ModelVersion,
  type RegisteredModel,
  Responses,
  type Run,
  type RunInfo,
} from './schemas';

const API = '/api/2.0/mlflow';
/** Page size for metric history: the server returns nothing at all unless max_results is sent. */
const HISTORY_PAGE = 1000;

export interface CreateRunInput {
  readonly experimentId: string;
  readonly runName?: string;
  readonly startTime: number;
  readonly userId?: string;
  readonly tags?: readonly KeyValue[];
}

export interface SearchInput {
  readonly filter?: string;
  readonly maxResults?: number;
  readonly orderBy?: readonly string[];
  readonly pageToken?: string;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextPageToken?: string;
}

export interface WaitOptions {
  /** @default 300000 (5 minutes) */
  readonly timeoutMs?: number;
  /** @default 1000 */
  readonly pollMs?: number;
}

function isNotFound(error: unknown): boolean {
  return error instanceof MlflowApiError && (error.status === 404 || error.errorCode === 'RESOURCE_DOES_NOT_EXIST');
}

/**
 * The server does not have this endpoint at all (MLflow 2.x asked for an MLflow 3 API): a 404
 * that is not MLflow's "no such entity" answer.
 */
export function isMissingEndpoint(error: unknown): boolean {
  return error instanceof MlflowApiError && error.status === 404 && error.errorCode !== 'RESOURCE_DOES_NOT_EXIST';
}

function isAlreadyExists(error: unknown): boolean {
  return error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS';
}

async function orUndefined<T>(call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates what is missing; when another client wins the race (RESOURCE_ALREADY_EXISTS), reads theirs. */
async function getOrCreate<T>(get: () => Promise<T | undefined>, create: () => Promise<T>): Promise<T> {
  const existing = await get();
  if (existing) return existing;
  try {
    return await create();
  } catch (error) {
    if (!isAlreadyExists(error)) throw error;
    const raced = await get();
    if (!raced) throw error;
    return raced;
  }
}

/** A typed client for the parts of MLflow's REST API the trainer and the model server use. */
export class MlflowClient {
  readonly http: HttpTransport;

  constructor(
    readonly connection: MlflowConnection,
    readonly artifactSettings: ArtifactSettings = {},
    hooks: TransportHooks = {},
  ) {
    this.http = new HttpTransport(connection, hooks);
  }

  get trackingUri(): string {
    return this.connection.trackingUri;
  }

  private async call<S extends z.ZodType>(schema: S, req: HttpRequest): Promise<z.infer<S>> {
    const res = await this.http.request(req);
    const endpoint = `${req.method} ${req.path}`;
    let body: unknown;
    try {
      body = JSON.parse(res.text);
    } catch {
      throw new MlflowResponseError(endpoint, `HTTP ${res.status}${res.contentType ? ` (${res.contentType})` : ''}, not JSON: ${summarize(res.text).slice(0, 200)}`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) throw new MlflowResponseError(endpoint, parsed.error.message);
    return parsed.data;
  }

  private get<S extends z.ZodType>(schema: S, path: string, query: HttpRequest['query']): Promise<z.infer<S>> {
    return this.call(schema, { method: 'GET', path: API + path, query });
  }

  private post<S extends z.ZodType>(schema: S, path: string, json: unknown): Promise<z.infer<S>> {
    return this.call(schema, { method: 'POST', path: API + path, json });
  }

  /** One quick request with no retries: tells whether the server answers at all right now. */
  async isReachable(timeoutMs = 5000): Promise<boolean> {
    return (await this.probe(timeoutMs)) === undefined;
  }

  /** One quick request with no retries: why the server does not answer now, or undefined when it does. */
  async probe(timeoutMs = 5000): Promise<string | undefined> {
    try {
      await this.http.request({ method: 'GET', path: '/health', maxRetries: 0, timeoutMs });
      return undefined;
    } catch (error) {
      // Any other answer (a proxy's 404, an auth page) is a server that answers.
      if (error instanceof MlflowUnavailableError) return error.reason;
      return undefined;
    }
  }

  /**
   * Undefined when the server answers an experiment lookup as MLflow does (the experiment, or
   * MLflow's RESOURCE_DOES_NOT_EXIST); otherwise what answered instead, in a few words: status,
   * content type and the start of the body. A server that does not answer is not judged here.
   * @throws MlflowAuthError when the login is refused
   */
  async foreignAnswer(experimentName: string): Promise<string | undefined> {
    try {
      await this.get(Responses.experiment, '/experiments/get-by-name', { experiment_name: experimentName });
      return undefined;
    } catch (error) {
      if (error instanceof MlflowResponseError) return error.detail;
      if (error instanceof MlflowUnavailableError) return undefined;
      if (!(error instanceof MlflowApiError)) throw error;
      if (isMlflowErrorAnswer(error)) return undefined;
      return `HTTP ${error.status}${error.contentType ? ` (${error.contentType})` : ''}: ${error.serverMessage.slice(0, 200)}`;
    }
  }

  // Experiments

  getExperimentByName(name: string): Promise<Experiment | undefined> {
    return orUndefined(this.get(Responses.experiment, '/experiments/get-by-name', { experiment_name: name }).then((r) => r.experiment));
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.get(Responses.experiment, '/experiments/get', { experiment_id: experimentId })).experiment;
  }

  async createExperiment(name: string, tags: readonly KeyValue[] = []): Promise<string> {
    return (await this.post(Responses.experimentId, '/experiments/create', { name, tags })).experiment_id;
  }

  /** Two trainers racing to create the same experiment both succeed: the loser reads it back. */
  async getOrCreateExperiment(name: string, tags: readonly KeyValue[] = []): Promise<Experiment> {
    const experiment = await getOrCreate(
      () => this.getExperimentByName(name),
      async () => this.getExperiment(await this.createExperiment(name, tags)),
    );
    return this.ensureActive(experiment);
  }

  private ensureActive(experiment: Experiment): Experiment {
    if (experiment.lifecycle_stage === 'deleted') {
      throw new UserError(
        `MLflow experiment '${experiment.name}' is deleted: restore it in the MLflow UI, or set MLFLOW_EXPERIMENT_NAME to another name`,
      );
    }
    return experiment;
  }

  async searchExperiments(input: SearchInput = {}): Promise<Page<Experiment>> {
    const r = await this.post(Responses.experiments, '/experiments/search', {
      filter: input.filter,
      max_results: input.maxResults ?? 100,
      order_by: input.orderBy,
      page_token: input.pageToken,
    });
    return { items: r.experiments, nextPageToken: r.next_page_token };
  }

  // Runs

  async createRun(input: CreateRunInput): Promise<Run> {
    const r = await this.post(Responses.run, '/runs/create', {
      experiment_id: input.experimentId,
      run_name: input.runName,
      start_time: input.startTime,
      user_id: input.userId,
      tags: input.tags ?? [],
    });
    return r.run;
  }

  async updateRun(runId: string, update: { status?: MlflowRunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const r = await this.post(Responses.runInfo, '/runs/update', {
      run_id: runId,
      status: update.status,
      end_time: update.endTime,
      run_name: update.runName,
    });
    return r.run_info;
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.get(Responses.run, '/runs/get', { run_id: runId })).run;
  }

  async searchRuns(experimentIds: readonly string[], input: SearchInput = {}): Promise<Page<Run>> {
    const r = await this.post(Responses.runs, '/runs/search', {
      experiment_ids: experimentIds,
      filter: input.filter,
      max_results: input.maxResults ?? 100,
      order_by: input.orderBy,
      page_token: input.pageToken,
    });
    return { items: r.runs, nextPageToken: r.next_page_token };
  }

  /**
   * Logs metrics, params and tags in as few `log-batch` calls as the limits allow, in order.
   * Over-long keys fail here with the key named, before anything is sent.
   * @returns the number of requests sent
   */
  async logBatch(runId: string, items: BatchItems): Promise<number> {
    validateBatch(items);
    const batches = splitBatch(items);
    for (const batch of batches) {
      await this.post(Responses.empty, '/runs/log-batch', { run_id: runId, metrics: batch.metrics, params: batch.params, tags: batch.tags });
    }
    return batches.length;
  }

  async logInputs(runId: string, datasets: readonly DatasetInputEntry[]): Promise<void> {
    await this.post(Responses.empty, '/runs/log-inputs', { run_id: runId, datasets });
  }

  /** MLflow 3: records logged models as outputs of the run, at a step. */
  async logOutputs(runId: string, models: readonly { modelId: string; step: number }[]): Promise<void> {
    await this.post(Responses.empty, '/runs/outputs', { run_id: runId, models: models.map((m) => ({ model_id: m.modelId, step: m.step })) });
  }

  /** Every value of one metric, all pages. */
  async getMetricHistory(runId: string, key: string): Promise<Metric[]> {
    const all: Metric[] = [];
    let pageToken: string | undefined;
    do {
      const r = await this.get(Responses.metricHistory, '/metrics/get-history', {
        run_id: runId,
        metric_key: key,
        max_results: HISTORY_PAGE,
        page_token: pageToken,
      });
      all.push(...r.metrics);
      // A token with an empty page would loop forever.
      pageToken = r.metrics.length ? r.next_page_token : undefined;
    } while (pageToken);
    return all;
  }

  async listArtifacts(runId: string, path?: string): Promise<{ rootUri?: string; files: FileInfo[] }> {
    const r = await this.get(Responses.artifactList, '/artifacts/list', { run_id: runId, path });
    return { rootUri: r.root_uri, files: r.files };
  }

  // Logged models (MLflow 3; a 2.x server answers 404: see isMissingEndpoint)

  async createLoggedModel(input: {
    experimentId: string;
    name: string;
    modelType?: string;
    sourceRunId?: string;
    params?: readonly KeyValue[];
    tags?: readonly KeyValue[];
  }): Promise<LoggedModel> {
    const r = await this.post(Responses.loggedModel, '/logged-models', {
      experiment_id: input.experimentId,
      name: input.name,
      model_type: input.modelType,
      source_run_id: input.sourceRunId,
      params: input.params,
      tags: input.tags,
    });
    return r.model;
  }

  async getLoggedModel(modelId: string): Promise<LoggedModel> {
    return (await this.get(Responses.loggedModel, `/logged-models/${encodeURIComponent(modelId)}`, {})).model;
  }

  async finalizeLoggedModel(modelId: string, status: Extract<LoggedModelStatus, 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED'>): Promise<LoggedModel> {
    const r = await this.call(Responses.loggedModel, { method: 'PATCH', path: `${API}/logged-models/${encodeURIComponent(modelId)}`, json: { model_id: modelId, status } });
    return r.model;
  }

  async searchLoggedModels(experimentIds: readonly string[], input: SearchInput = {}): Promise<Page<LoggedModel>> {
    const r = await this.post(Responses.loggedModels, '/logged-models/search', {
      experiment_ids: experimentIds,
      filter: input.filter,
      max_results: input.maxResults ?? 100,
      page_token: input.pageToken,
    });
    return { items: r.models, nextPageToken: r.next_page_token };
  }

  // Model registry

  getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    return orUndefined(this.get(Responses.registeredModel, '/registered-models/get', { name }).then((r) => r.registered_model));
  }

  async createRegisteredModel(name: string, description?: string): Promise<RegisteredModel> {
    return (await this.post(Responses.registeredModel, '/registered-models/create', { name, description })).registered_model;
  }

  async getOrCreateRegisteredModel(name: string, description?: string): Promise<RegisteredModel> {
    return getOrCreate(() => this.getRegisteredModel(name), () => this.createRegisteredModel(name, description));
  }

  async searchRegisteredModels(input: SearchInput = {}): Promise<Page<RegisteredModel>> {
    const r = await this.get(Responses.registeredModels, '/registered-models/search', {
      filter: input.filter,
      max_results: input.maxResults ?? 100,
      page_token: input.pageToken,
    });
    return { items: r.registered_models, nextPageToken: r.next_page_token };
  }

  async createModelVersion(input: { name: string; source: string; runId?: string; modelId?: string; description?: string }): Promise<ModelVersion> {
    const r = await this.post(Responses.modelVersion, '/model-versions/create', {
      name: input.name,
      source: input.source,
      run_id: input.runId,
      model_id: input.modelId,
      description: input.description,
    });
    return r.model_version;
  }

  /** Sets a version's description (markdown; MLflow keeps 5,000 characters). */
  async updateModelVersion(name: string, version: string, update: { description: string }): Promise<ModelVersion> {
    const json = { name, version, description: update.description };
    return (await this.call(Responses.modelVersion, { method: 'PATCH', path: `${API}/model-versions/update`, json })).model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion> {
    return (await this.get(Responses.modelVersion, '/model-versions/get', { name, version })).model_version;
  }

  async searchModelVersions(input: SearchInput = {}): Promise<Page<ModelVersion>> {
    const r = await this.get(Responses.modelVersions, '/model-versions/search', {
      filter: input.filter,
      max_results: input.maxResults ?? 100,
      page_token: input.pageToken,
    });
    return { items: r.model_versions, nextPageToken: r.next_page_token };
  }

  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return (await this.get(Responses.downloadUri, '/model-versions/get-download-uri', { name, version })).artifact_uri;
  }

  /** Polls until the version is READY; FAILED_REGISTRATION and the time limit are errors. */
  async waitForModelVersionReady(name: string, version: string, options: WaitOptions = {}): Promise<ModelVersion> {
    const deadline = Date.now() + (options.timeoutMs ?? 300_000);
    const pollMs = options.pollMs ?? 1000;
    for (;;) {
      const mv = await this.getModelVersion(name, version);
      if (mv.status === 'READY') return mv;
      if (mv.status === 'FAILED_REGISTRATION') {
        throw new UserError(`MLflow could not register ${name} version ${version}: ${mv.status_message ?? 'no reason given'}`);
      }
      if (Date.now() + pollMs > deadline) {
        throw new UserError(`${name} version ${version} is still ${mv.status} after ${(options.timeoutMs ?? 300_000) / 1000} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  }

  async setRegisteredModelAlias(name: string, alias: string, version: string): Promise<void> {
    await this.post(Responses.empty, '/registered-models/alias', { name, alias, version });
  }

  /** The version an alias points at, or undefined when the alias (or the model) does not exist. */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    try {
      return (await this.get(Responses.modelVersion, '/registered-models/alias', { name, alias })).model_version;
    } catch (error) {
      // The SQL store answers an unset alias with 400 INVALID_PARAMETER_VALUE, not 404.
      const unsetAlias = error instanceof MlflowApiError && /alias .* not found/i.test(error.serverMessage);
      if (unsetAlias || isNotFound(error)) return undefined;
      throw error;
    }
  }
}
