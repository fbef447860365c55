import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../backend/select-backend';
import { createCheckpointStore, type CheckpointState, type CheckpointStore } from '../cloud/checkpoint-store';
import { collectCloudTags, describeBackend, requireGpu } from '../cloud/gpu';
import { captureTrainingState, restoreTrainingState } from '../cloud/training-state';
import { type TrainConfig } from '../config';
import { UserError } from '../user-error';
import { mulberry32 } from '../data/random';
import { saveSplit, SPLIT_FILE } from '../data/split';
import { defaultPreprocessing } from '../models/preprocessing';
import { FanOutTracker } from '../tracking/fan-out-tracker';
import { createMlflowTrackerFromEnv, MlflowOutboxError, parseMlflowEnv } from '../tracking/mlflow';
import { RunFolderTracker } from '../tracking/run-folder';
import type { ParamValue, RunStatus } from '../tracking/tracker';
import { fit, type FitState } from '../train/fit';
import type { TrainingProgress } from '../train/progress';
import { saveAndEvaluate, writeRunReport, type RunEvaluation } from './finish-run';
import { prepareModel } from './prepare-model';
import { loadSplitImages } from './training-images';

export interface RunTrainingOptions {
  readonly progress: TrainingProgress;
  /** Aborting stops training after the current step; the run is then recorded as KILLED. */
  readonly signal?: AbortSignal;
  readonly env: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
}

export interface RunOutcome {
  readonly runDir: string;
  readonly status: RunStatus;
  readonly testMetrics?: Record<string, number>;
  /** Tracking calls that MLflow did not receive; they wait in the run folder for `sync`. */
  readonly unsynced?: string;
}

/** Run name and tracking run of an interrupted run, kept in its checkpoints. */
interface ResumeMeta {
  readonly runName: string;
  readonly splitDigest: string;
}

/** config -> backend -> images -> split -> model -> fit -> test metrics, plots, report, model -> run record. */
export async function runTraining(config: TrainConfig, options: RunTrainingOptions): Promise<RunOutcome> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const started = new Date();
  const backend = await selectBackend(config.backend, { threads: config.threads });
  log(`backend: ${backend.name} (${backend.detail})`);
  const cloudTags = config.requireGpu ? await gpuTags(backend.tfBackend, options.env) : {};
  // Checked before the images are read, so a bad --model, --weights or MLflow variable fails in
  // seconds, not minutes.
  parseMlflowEnv(options.env);
  const model = await prepareModel(config, log);
  const params = model.countParams();

  const { parts, split, splitDigest: digestOfSplit, counts, ...data } = await loadSplitImages(config, log);

  const store = config.checkpointUri ? createCheckpointStore(config.checkpointUri) : undefined;
  const checkpoint = await store?.load();
  const resumeMeta = checkpoint && resumeMetaOf(checkpoint, digestOfSplit, store as CheckpointStore);
  const resume = checkpoint && (await restoreTrainingState(model, checkpoint, (store as CheckpointStore).description));
  if (checkpoint) log(`resuming after epoch ${checkpoint.epoch} from ${store?.description}`);

  const runName = resumeMeta?.runName ?? `${timestamp(started)}-${config.model}`;
  const runDir = resumeMeta ? resolve(config.out, runName) : uniqueDir(resolve(config.out, runName));
  if (resumeMeta) await rm(join(runDir, 'metrics.jsonl'), { force: true });
  const folder = new RunFolderTracker(runDir);
  const mlflow = createMlflowTrackerFromEnv(options.env, {
    registerModel: config.registerModel,
    championMetric: config.championMetric,
    resumeRunId: checkpoint?.runId,
  });
  const tracker = new FanOutTracker(mlflow ? [folder, mlflow] : [folder]);
  if (mlflow) log(`tracking: MLflow at ${options.env.MLFLOW_TRACKING_URI}`);

  await tracker.startRun({
    runName,
    runDir,
    description: `Trains ${config.model} (${params.toLocaleString('en-US')} parameters) on ${data.source} at `
      + `${config.imageSize}x${config.imageSize} px, split by ${split.mode} into ${counts.train}/${counts.validation}/${counts.test} `
      + `train/validation/test images, for up to ${config.epochs} epochs with Adam (learning rate ${config.learningRate}, `
      + `batch ${config.batchSize}) on the ${backend.name} backend.`,
    tags: { model: config.model, backend: backend.name, ...cloudTags },
  });
  saveSplit(join(runDir, SPLIT_FILE), split);
  // Checkpoints are written before an epoch's metrics are sent, so the server may lack the last
  // epochs of an interrupted run (never hold one twice): send only those, and all to the new folder.
  const lastOnServer = resume && mlflow ? ((await mlflow.lastLoggedStep('loss')) ?? Infinity) : Infinity;
  for (const { epoch, ...metrics } of resume?.history ?? []) {
    await folder.logMetrics(metrics, epoch);
    if (epoch > lastOnServer) await mlflow?.logMetrics(metrics, epoch);
  }
  const allParams = { ...flattenConfig(config), param_count: params, dataset_digest: data.digest, split_digest: digestOfSplit };
  await tracker.logParams(allParams);
  await tracker.logDataset({ name: 'nih-malaria-cell-images', digest: data.digest, source: data.source, splitDigest: digestOfSplit, counts });

  const preprocessing = defaultPreprocessing(config.model, config.imageSize);
  const meta: ResumeMeta = { runName, splitDigest: digestOfSplit };
  const saveCheckpoint = async (state: FitState) => {
    if (!store) return;
    await store.save(await captureTrainingState(model, state, { runId: mlflow?.runId, meta: { ...meta } }));
  };
  // Kept up to date so that a failed run's report still shows the epochs it finished.
  let history: FitState['history'] = resume?.history ?? [];
  let evaluation: RunEvaluation | undefined;
  try {
    const result = await fit(model, parts.train, parts.validation, {
      epochs: config.epochs,
      batchSize: config.batchSize,
      patience: config.patience,
      augment: config.augment,
      learningRate: config.learningRate,
      scale: preprocessing.scale,
      // Seeded per starting epoch, so a resumed run does not replay the shuffles it already did.
      random: mulberry32(config.seed + (checkpoint?.epoch ?? 0)),
      signal: options.signal,
      progress: options.progress,
      resume,
      onEpochEnd: async ({ epoch, ...metrics }, state) => {
        history = [...state.history];
        await saveCheckpoint(state);
        await tracker.logMetrics(metrics, epoch);
      },
      onInterrupt: async (state) => {
        await saveCheckpoint(state);
        if (store) log(`checkpoint written to ${store.description}`);
      },
    });
    history = result.history;
    const status: RunStatus = result.outcome === 'interrupted' ? 'KILLED' : 'FINISHED';
    if (result.outcome === 'early-stopped') log(`stopped early: no better validation loss for ${config.patience} epochs; keeping epoch ${result.bestEpoch}`);
    const saved = await saveAndEvaluate(model, parts, { status, config, preprocessing, runDir, log });
    const modelDir = saved.modelDir;
    evaluation = saved.evaluation;
    if (status !== 'FINISHED') log('interrupted: the best model so far is saved and the run is recorded as KILLED');
    const report = await writeRunReport(runDir, history, {
      runName, model: config.model, status, backend: backend.summary, startTime: started.toISOString(),
      durationSeconds: (Date.now() - started.getTime()) / 1000,
      data: { source: data.source, splitMode: split.mode, counts, composition: data.composition }, params: allParams,
    }, evaluation);
    log(`report: ${report}`);
    const unsynced = await endRun(tracker, { status, testMetrics: evaluation?.record, modelDir }, log);
    return { runDir, status, testMetrics: evaluation?.record, unsynced };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    await writeRunReport(runDir, history, {
      runName, model: config.model, status: 'FAILED', backend: backend.summary, startTime: started.toISOString(),
      durationSeconds: (Date.now() - started.getTime()) / 1000,
      data: { source: data.source, splitMode: split.mode, counts, composition: data.composition }, params: allParams, error: message,
    }).catch(() => undefined);
    await endRun(tracker, { status: 'FAILED', error: message }, log);
    throw error;
  }
}

/** Ends the run everywhere; what MLflow did not take stays in the run folder and is reported, not thrown. */
async function endRun(tracker: FanOutTracker, end: Parameters<FanOutTracker['endRun']>[0], log: (line: string) => void): Promise<string | undefined> {
  try {
    await tracker.endRun(end);
    return undefined;
  } catch (error) {
    if (!(error instanceof MlflowOutboxError)) throw error;
    log(`warning: ${error.message}`);
    return error.outboxFile;
  }
}

async function gpuTags(tfBackend: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const active = describeBackend(tfBackend, tf.backend());
  await requireGpu(active);
  return collectCloudTags(active, { env });
}

function resumeMetaOf(checkpoint: CheckpointState, digestOfSplit: string, store: CheckpointStore): ResumeMeta {
  const meta = checkpoint.meta as Partial<ResumeMeta> | undefined;
  if (!meta?.runName || !meta.splitDigest) {
    throw new UserError(`the checkpoint in ${store.description} was not written by this trainer; give a new --checkpoint-uri`);
  }
  if (meta.splitDigest !== digestOfSplit) {
    throw new UserError(`the checkpoint in ${store.description} was trained on another data split; `
      + 'resume with the same --data, --seed and --split options, or give a new --checkpoint-uri');
  }
  return { runName: meta.runName, splitDigest: meta.splitDigest };
}

/** Every option as an MLflow param: lists joined, unset options left out. */
function flattenConfig(config: TrainConfig): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === undefined) continue;
    params[key] = Array.isArray(value) ? value.join(',') : (value as ParamValue);
  }
  return params;
}

function timestamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

function uniqueDir(dir: string): string {
  let candidate = dir;
  for (let n = 2; existsSync(candidate); n++) candidate = `${dir}-${n}`;
  return candidate;
}

