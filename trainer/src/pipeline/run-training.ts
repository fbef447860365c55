import { join } from 'node:path';
import { captureTrainingState } from '../cloud/training-state';
import type { TrainConfig } from '../config';
import { saveSplit, SPLIT_FILE } from '../data/split';
import type { Evaluation } from '../evaluate/evaluation';
import { writeModelCard, type ModelCardData } from '../evaluate/model-card';
import { defaultPreprocessing } from '../models/preprocessing';
import { datasetName } from '../tracking/dataset-name';
import type { ParamValue, RunStatus } from '../tracking/tracker';
import { fit, type FitResult, type FitState } from '../train/fit';
import type { EpochRecord } from '../train/history';
import { STOP_DURING_TRAINING } from '../train/stop-requests';
import { saveAndEvaluate, writeRunReport } from './finish-run';
import { setUpRun, type RunDeps, type StartedRun } from './set-up-run';

export type { RunDeps } from './set-up-run';

export interface RunOutcome {
  readonly runDir: string;
  readonly status: RunStatus;
  readonly testMetrics?: Record<string, number>;
  /** Tracking calls that MLflow did not receive; they wait in the run folder for `sync`. */
  readonly unsynced?: string;
}

/**
 * One training run: set up (model, images, resume point, run record), train (with checkpoints),
 * finish (model, test metrics, report, run record). A failure after the run started is recorded
 * as FAILED, with its report, and rethrown as it was.
 */
export async function runTraining(config: TrainConfig, deps: RunDeps): Promise<RunOutcome> {
  const run = await setUpRun(config, deps);
  const forgetForcedExit = deps.stop?.onForcedExit(() => run.tracking.endAtOnce('stopped at once by a second interrupt'));
  const progress: TrainingProgressRecord = { history: run.resume?.history ?? [] };
  try {
    await recordInputs(run);
    const result = await train(run, deps, progress);
    // A stop request no longer stops training: say what it does instead.
    const tracked = run.tracking.server !== undefined;
    deps.stop?.describeStop(`training is over: finishing the test evaluation and the report${tracked ? `, then ${SKIP_MLFLOW_WAIT}` : ''}`);
    return await finish(run, result, deps);
  } catch (error) {
    await recordFailure(run, progress.history, error, deps.log);
    throw error;
  } finally {
    forgetForcedExit?.();
    deps.stop?.describeStop(STOP_DURING_TRAINING);
  }
}

const SKIP_MLFLOW_WAIT = 'no more waiting for MLflow: what it has not received stays in the run folder (mlflow-outbox.jsonl) for npm run sync';

/** The epochs finished so far, kept up to date so that a failed run's report still shows them. */
interface TrainingProgressRecord {
  history: readonly EpochRecord[];
}

async function recordInputs(run: StartedRun): Promise<void> {
  const { tracking, images } = run;
  saveSplit(join(run.runDir, SPLIT_FILE), images.split);
  await tracking.logResumedEpochs(run.resume?.history ?? []);
  await tracking.logParams(allParams(run));
  await tracking.logDataset({
    name: datasetName(images.source), digest: images.digest, source: images.source, splitDigest: images.splitDigest, counts: images.counts,
  });
}

async function train(run: StartedRun, deps: RunDeps, record: TrainingProgressRecord): Promise<FitResult> {
  const { config, model, tracking } = run;
  const store = deps.checkpoints;
  const saveCheckpoint = async (state: FitState) => {
    if (!store) return;
    await store.save(await captureTrainingState(model, state, { runId: tracking.server?.runId, meta: { ...run.checkpointMeta } }));
  };
  return fit(model, run.images.parts.train, run.images.parts.validation, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    patience: config.patience,
    augment: config.augment ? { symmetries: config.augmentSymmetries, brightness: config.augmentBrightness } : undefined,
    tta: config.tta && config.validateWithTta,
    learningRate: { name: config.lrSchedule, base: config.learningRate, patience: config.lrPatience, factor: config.lrFactor },
    scale: defaultPreprocessing(config.model, config.imageSize).scale,
    seed: config.seed,
    signal: deps.stop?.signal,
    progress: deps.progress,
    resume: run.resume,
    onEpochEnd: async ({ epoch, ...metrics }, state) => {
      record.history = [...state.history];
      // Before the metrics are sent: a restart then resends what the server lacks, never twice.
      await saveCheckpoint(state);
      await tracking.logMetrics(metrics, epoch);
    },
    onInterrupt: async (state) => {
      await saveCheckpoint(state);
      if (store) deps.log(`checkpoint written to ${store.description}`);
    },
  });
}

async function finish(run: StartedRun, result: FitResult, deps: RunDeps): Promise<RunOutcome> {
  const { config, model, runDir, images } = run;
  const log = deps.log;
  const status: RunStatus = result.outcome === 'interrupted' ? 'KILLED' : 'FINISHED';
  if (result.outcome === 'early-stopped') log(`stopped early: no better validation loss for ${config.patience} epochs; keeping epoch ${result.bestEpoch}`);
  const preprocessing = defaultPreprocessing(config.model, config.imageSize, undefined, config.tta);
  const { modelDir, evaluation } = await saveAndEvaluate(model, images.parts, {
    status, config, preprocessing, runDir, log, knownLabelErrors: images.knownLabelErrors,
  });
  if (status !== 'FINISHED') log('interrupted: the best model so far is saved and the run is recorded as KILLED');
  // Read before this run registers its own model, which may take the alias.
  const champion = evaluation && (await run.tracking.server?.currentChampion?.());
  const report = await writeRunReport(runDir, result.history, {
    ...reportData(run, status), ...(champion ? { champion: { ...champion, decidingMetric: config.championMetric } } : {}),
  }, evaluation);
  log(`report: ${report}`);
  await writeModelCard(modelDir, modelCardData(run, status, result.history, evaluation?.evaluation));
  if (run.tracking.server) deps.stop?.describeStop(SKIP_MLFLOW_WAIT);
  // The epoch whose weights were kept: comparisons read the training figures of that epoch.
  const testMetrics = evaluation && { ...evaluation.record, ...(result.bestEpoch ? { best_epoch: result.bestEpoch } : {}) };
  const unsynced = await run.tracking.endRunKeepingUnsent({ status, testMetrics, modelDir }, log);
  return { runDir, status, testMetrics, unsynced };
}

/**
 * The run ended in an error: its report and record say FAILED. Neither may hide the error that
 * ended the training, so their own failures are only logged.
 */
async function recordFailure(run: StartedRun, history: readonly EpochRecord[], error: unknown, log: (line: string) => void): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  try {
    await writeRunReport(run.runDir, history, { ...reportData(run, 'FAILED'), error: message });
  } catch (reportError) {
    log(`warning: could not write the report of the failed run: ${(reportError as Error).message}`);
  }
  try {
    await run.tracking.endRunKeepingUnsent({ status: 'FAILED', error: message }, log);
  } catch (endError) {
    log(`warning: could not record the run as FAILED: ${(endError as Error).message}`);
  }
}

function reportData(run: StartedRun, status: RunStatus) {
  const { config, images } = run;
  return {
    runName: run.runName,
    model: config.model,
    status,
    backend: run.backend,
    startTime: run.startedAt.toISOString(),
    durationSeconds: (Date.now() - run.startedAt.getTime()) / 1000,
    data: {
      source: images.source, splitMode: images.split.mode, counts: images.counts, composition: images.composition,
      digest: images.digest, splitDigest: images.splitDigest, sharedPatients: images.sharedPatients, leftOut: images.leftOut,
    },
    options: config,
    paramCount: run.paramCount,
    ...(run.tracking.serverName ? { mlflow: run.tracking.serverName } : {}),
  };
}

/** The report's figures with the recipe, the digests and where the model goes in MLflow. */
function modelCardData(run: StartedRun, status: RunStatus, history: readonly EpochRecord[], evaluation: Evaluation | undefined): ModelCardData {
  const { config, images, tracking } = run;
  const report = reportData(run, status);
  return {
    ...report, history, evaluation, recipe: config, paramCount: run.paramCount, datasetDigest: images.digest, splitDigest: images.splitDigest,
    runId: tracking.server?.runId, registeredModel: tracking.server ? config.registerModel : undefined,
  };
}

/** Every option as an MLflow param (lists joined, unset options left out), with what the run measured of itself. */
function allParams(run: StartedRun): Record<string, ParamValue> {
  return { ...optionParams(run.config), param_count: run.paramCount, dataset_digest: run.images.digest, split_digest: run.images.splitDigest };
}

/** Options as MLflow params: lists joined, unset options left out. */
export function optionParams(options: Readonly<Record<string, unknown>>): Record<string, ParamValue> {
  const params: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    params[key] = Array.isArray(value) ? value.join(',') : (value as ParamValue);
  }
  return params;
}
