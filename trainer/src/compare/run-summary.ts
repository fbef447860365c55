import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { readPredictions, type TestPredictions } from '../evaluate/predictions-file';
import { RUN_RECORD_FILE } from '../tracking/run-folder';
import type { EpochRecord } from '../train/history';
import { UserError } from '../user-error';

/** What a comparison knows of one run, wherever it was read from (a run folder, MLflow). */
export interface RunSummary {
  /** The run's name (`20261130-101500-compact`, `fold-2`). */
  readonly name: string;
  /** Where it was read from, as a person would name it again: a folder, or `runs:/<id>`. */
  readonly source: string;
  readonly status: string;
  readonly params: Readonly<Record<string, string>>;
  /** The test metrics (`test_*`), with their interval bounds, and what a cloud run logs of its cost (`system/*`). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly history: readonly EpochRecord[];
  readonly predictions?: TestPredictions;
  readonly durationSeconds?: number;
}

/** Run tag of a group's parent run (a sweep, a cross-validation): its members are what a comparison compares. */
export const GROUP_KIND_TAG = 'malaria.group_kind';

/** A run ended as it should: its test figures exist. Anything else (KILLED, FAILED, RUNNING) is marked in comparisons. */
export function isFinished(run: Pick<RunSummary, 'status'>): boolean {
  return run.status === 'FINISHED';
}

/**
 * A run folder as one run; a group's folder (a cross-validation, a sweep) as its members' run
 * folders, in order, so that the group is summarised by them (its own record holds no test figures).
 */
export async function readRunFolders(dir: string): Promise<RunSummary[]> {
  const run = await readRunFolder(dir);
  if (!run.tags[GROUP_KIND_TAG]) return [run];
  const members = (await readdir(dir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, RUN_RECORD_FILE)))
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return Promise.all(members.map((name) => readRunFolder(join(dir, name))));
}

/** A run folder as the trainer leaves it. */
export async function readRunFolder(dir: string): Promise<RunSummary> {
  const record = await readJson<{ runName?: string; status?: string; tags?: Record<string, string>; startTime?: string; endTime?: string }>(dir, RUN_RECORD_FILE);
  if (!record) throw new UserError(`${dir} is not a run folder (it has no ${RUN_RECORD_FILE}); give a folder that a training printed last`);
  const params = await readJson<Record<string, unknown>>(dir, 'params.json') ?? {};
  const metrics = await readJson<Record<string, number>>(dir, 'metrics.json') ?? {};
  const historyText = await readFile(join(dir, 'metrics.jsonl'), 'utf8').catch(() => '');
  const started = record.startTime ? Date.parse(record.startTime) : NaN;
  const ended = record.endTime ? Date.parse(record.endTime) : NaN;
  return {
    name: record.runName ?? basename(dir),
    source: dir,
    status: record.status ?? 'unknown',
    params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
    metrics,
    tags: record.tags ?? {},
    history: historyText.split('\n').filter(Boolean).map((line) => JSON.parse(line) as EpochRecord),
    predictions: await readPredictions(dir),
    ...(Number.isFinite(started) && Number.isFinite(ended) ? { durationSeconds: (ended - started) / 1000 } : {}),
  };
}

async function readJson<T>(dir: string, file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, file), 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`${join(dir, file)} cannot be read: ${(error as Error).message}`);
  }
}
