import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendInfo } from '../backend/select-backend';
import type { CheckpointStore } from '../cloud/checkpoint-store';
import { collectCloudTags, describeBackend, requireGpu } from '../cloud/gpu';
import { restoreTrainingState } from '../cloud/training-state';
import type { TrainConfig } from '../config';
import type { OpenTracking, RunTracking } from '../tracking/run-tracking';
import type { FitState } from '../train/fit';
import type { TrainingProgress } from '../train/progress';
import type { StopControl } from '../train/stop-requests';
import { UserError } from '../user-error';
import { prepareModel } from './prepare-model';
import { loadSplitImages, type SplitImages } from './training-images';

/** What a run is given from outside: chosen at the command's edge, replaced in tests. */
export interface RunDeps {
  /** The TF.js backend the command made current. */
  readonly backend: BackendInfo;
  readonly progress: TrainingProgress;
  /** Ctrl-C, SIGTERM, spot notices: stop after the current step, or at once. */
  readonly stop?: StopControl;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
  /** Where checkpoints go (`--checkpoint-uri`); a run finds its predecessor's there and resumes. */
  readonly checkpoints?: CheckpointStore;
  readonly openTracking: OpenTracking;
  /** The group the run belongs to (a sweep, a cross-validation); absent for a run of its own. */
  readonly member?: GroupMembership;
}

/** A run as one of a group: named and placed by the group, a child of its parent run. */
export interface GroupMembership {
  readonly runName: string;
  /** The group's folder, which holds the member's run folder. */
  readonly folder: string;
  /** The group's MLflow run (MLflow shows members nested under it). */
  readonly parentRunId?: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** A run that has started: its model, images and record, and where an earlier attempt left off. */
export interface StartedRun {
  readonly config: TrainConfig;
  readonly backend: BackendInfo;
  readonly model: tf.LayersModel;
  readonly paramCount: number;
  readonly images: SplitImages;
  readonly resume?: FitState;
  readonly runName: string;
  readonly runDir: string;
  readonly tracking: RunTracking;
  readonly startedAt: Date;
  /** What a checkpoint carries besides the model, so a restart can find this run again. */
  readonly checkpointMeta: ResumeMeta;
}

/** Kept in checkpoints: the run a restart continues, and what must not change for it to continue. */
export interface ResumeMeta {
  readonly runName: string;
  readonly splitDigest: string;
  readonly batchSize: number;
}

/** backend -> model -> images -> resume point -> run folder and tracking -> run started. */
export async function setUpRun(config: TrainConfig, deps: RunDeps): Promise<StartedRun> {
  const { backend, log } = deps;
  const startedAt = new Date();
  log(`backend: ${backend.detail}`);
  const cloudTags = config.requireGpu ? await gpuTags(backend.tfBackend, deps.env) : {};
  const model = await prepareModel(config, log);
  const paramCount = model.countParams();
  const images = await loadSplitImages(config, log);

  const resumed = deps.checkpoints && (await findResumePoint(deps.checkpoints, model, images, config, log));
  const { member } = deps;
  const runName = resumed?.meta.runName ?? member?.runName ?? `${timestamp(startedAt)}-${config.model}`;
  const folder = member?.folder ?? config.out;
  const runDir = resumed || member ? resolve(folder, runName) : uniqueDir(resolve(folder, runName));
  // The resumed run's epochs are written again, from the checkpoint's history.
  if (resumed) await rm(join(runDir, 'metrics.jsonl'), { force: true });
  const tracking = deps.openTracking({ runDir, resumeRunId: resumed?.runId });
  if (tracking.serverName) log(`tracking: ${tracking.serverName}`);

  const { counts, split } = images;
  await tracking.startRun({
    runName,
    runDir,
    description: `Trains ${config.model} (${paramCount.toLocaleString('en-US')} parameters) on ${images.source} at `
      + `${config.imageSize}x${config.imageSize} px, split by ${split.mode} into ${counts.train}/${counts.validation}/${counts.test} `
      + `train/validation/test images, for up to ${config.epochs} epochs with Adam (learning rate ${config.learningRate}, ${config.lrSchedule}, `
      + `batch ${config.batchSize}) on the ${backend.name} backend.`,
    tags: {
      model: config.model, backend: backend.name, ...cloudTags, ...member?.tags,
      ...(member?.parentRunId ? { [MLFLOW_PARENT_RUN_TAG]: member.parentRunId } : {}),
    },
  });
  return {
    config, backend, model, paramCount, images, resume: resumed?.state, runName, runDir, tracking, startedAt,
    checkpointMeta: { runName, splitDigest: images.splitDigest, batchSize: config.batchSize },
  };
}

interface ResumePoint {
  readonly state: FitState;
  readonly meta: ResumeMeta;
  readonly runId?: string;
}

/** The latest checkpoint in `store`, checked against this run and loaded into `model`; undefined when there is none. */
async function findResumePoint(
  store: CheckpointStore, model: tf.LayersModel, images: SplitImages, config: TrainConfig, log: (line: string) => void,
): Promise<ResumePoint | undefined> {
  const checkpoint = await store.load();
  if (!checkpoint) return undefined;
  const meta = checkpoint.meta as Partial<ResumeMeta> | undefined;
  if (!meta?.runName || !meta.splitDigest) {
    throw new UserError(`the checkpoint in ${store.description} was not written by this trainer; give a new --checkpoint-uri`);
  }
  if (meta.splitDigest !== images.splitDigest) {
    throw new UserError(`the checkpoint in ${store.description} was trained on another data split; `
      + 'resume with the same --data, --seed and --split options, or give a new --checkpoint-uri');
  }
  const state = await restoreTrainingState(model, checkpoint, store.description);
  const partial = state.partial;
  if (partial && meta.batchSize !== config.batchSize) {
    throw new UserError(`the checkpoint in ${store.description} stopped in the middle of epoch ${partial.epoch} with `
      + `--batch-size ${meta.batchSize}; resume with the same --batch-size, or give a new --checkpoint-uri`);
  }
  const steps = Math.ceil(images.counts.train / config.batchSize);
  log(partial
    ? `resuming epoch ${partial.epoch} at step ${partial.steps + 1} of ${steps} from ${store.description}`
    : `resuming after epoch ${checkpoint.epoch} from ${store.description}`);
  return { state, meta: { runName: meta.runName, splitDigest: meta.splitDigest, batchSize: config.batchSize }, runId: checkpoint.runId };
}

async function gpuTags(tfBackend: string, env: NodeJS.ProcessEnv): Promise<Record<string, string>> {
  const active = describeBackend(tfBackend, tf.backend());
  await requireGpu(active);
  return collectCloudTags(active, { env });
}

/** MLflow's own tag for a nested run: the UI shows the run under its parent. */
export const MLFLOW_PARENT_RUN_TAG = 'mlflow.parentRunId';

export function timestamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** `dir`, or `dir-2`, `dir-3`... whichever does not exist yet. */
export function uniqueDir(dir: string): string {
  let candidate = dir;
  for (let n = 2; existsSync(candidate); n++) candidate = `${dir}-${n}`;
  return candidate;
}
