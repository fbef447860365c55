import { readdirSync } from 'node:fs';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UserError } from '../../user-error';
import { toMlflowJson } from './http';
import { double } from './schemas';

/**
 * The logging calls that could not reach MLflow, one JSON object per line, in the order they were
 * made: `<runDir>/mlflow-outbox.jsonl` (then -2, -3... so a resumed run never overwrites one).
 * Line 1 is a header; every other line is one operation, with the last error it met.
 */

const stringRecord = z.record(z.string(), z.string());

export const OutboxOpSchema = z.discriminatedUnion('op', [
  z.object({
    op: z.literal('start'),
    runName: z.string(),
    description: z.string(),
    tags: stringRecord,
    startTime: z.number(),
    user: z.string(),
    sourceName: z.string(),
    sourceType: z.string(),
    gitCommit: z.string().optional(),
    resumeRunId: z.string().optional(),
  }),
  z.object({ op: z.literal('params'), params: stringRecord }),
  z.object({ op: z.literal('tags'), tags: stringRecord }),
  z.object({
    op: z.literal('metrics'),
    metrics: z.array(z.object({ key: z.string(), value: double, timestamp: z.number(), step: z.number() })),
  }),
  z.object({
    op: z.literal('dataset'),
    name: z.string(),
    digest: z.string(),
    source: z.string(),
    splitDigest: z.string(),
    counts: z.object({ train: z.number(), validation: z.number(), test: z.number() }),
  }),
  z.object({
    op: z.literal('artifacts'),
    /** Relative to the outbox's folder when inside it, else absolute. */
    runDir: z.string(),
    /** Left out of the run files: the `model` operation sends it. */
    modelDir: z.string().optional(),
  }),
  z.object({
    op: z.literal('model'),
    modelDir: z.string(),
    /** The run's last epoch: the step of its model output and test metrics. */
    step: z.number(),
    timestamp: z.number(),
    /** Test metrics, linked to the logged model and the data set (MLflow 3). */
    metrics: z.record(z.string(), double),
    dataset: z.object({ name: z.string(), digest: z.string() }).optional(),
  }),
  z.object({
    op: z.literal('register'),
    modelName: z.string(),
    metric: z.string(),
    value: double.optional(),
    greaterIsBetter: z.boolean(),
    alias: z.string(),
    /** The model folder, whose model card becomes the version's description (absent in outboxes written before). */
    modelDir: z.string().optional(),
  }),
  z.object({ op: z.literal('finish'), status: z.enum(['FINISHED', 'FAILED', 'KILLED']), endTime: z.number() }),
]);
export type OutboxOp = z.infer<typeof OutboxOpSchema>;

export const OUTBOX_VERSION = 2 as const;

export const OutboxHeaderSchema = z.object({
  /** 1: written before the model had an operation of its own (`artifacts` sent it). */
  outbox: z.union([z.literal(1), z.literal(OUTBOX_VERSION)]),
  trackingUri: z.string(),
  experimentName: z.string(),
  /** Set once the run exists on the server; null while the `start` line is still unsent. */
  runId: z.string().nullable(),
  savedAt: z.string(),
});
export type OutboxHeader = z.infer<typeof OutboxHeaderSchema>;

export interface OutboxEntry {
  readonly op: OutboxOp;
  /** Why it was not sent, last time it was tried. */
  readonly error?: string;
}

export interface Outbox {
  readonly file: string;
  readonly header: OutboxHeader;
  readonly entries: readonly OutboxEntry[];
}

/** One line per distinct reason, e.g. `metrics: MLflow server ... unavailable`. */
export function summarizeUnsent(entries: readonly OutboxEntry[]): string[] {
  return [...new Set(entries.map((e) => `${e.op.op}: ${e.error ?? 'not tried (the server was unreachable)'}`))];
}

export const OUTBOX_PATTERN = /^mlflow-outbox(-\d+)?\.jsonl$/;

function outboxIndex(name: string): number {
  return Number(OUTBOX_PATTERN.exec(name)?.[1]?.slice(1) ?? 1);
}

/** The outbox files among a folder's file names, oldest first. */
function outboxNames(names: readonly string[]): string[] {
  return names.filter((n) => OUTBOX_PATTERN.test(n)).sort((a, b) => outboxIndex(a) - outboxIndex(b));
}

/** The outbox files of a run folder, oldest first. */
export async function findOutboxes(runDir: string): Promise<string[]> {
  return outboxNames(await readdir(runDir).catch(() => [] as string[])).map((n) => path.join(runDir, n));
}

/** A file name that no outbox among `names` uses. */
function outboxAfter(runDir: string, names: readonly string[]): string {
  const existing = outboxNames(names);
  const next = existing.length ? Math.max(...existing.map(outboxIndex)) + 1 : 1;
  return path.join(runDir, next === 1 ? 'mlflow-outbox.jsonl' : `mlflow-outbox-${next}.jsonl`);
}

/** A file name no earlier outbox uses. */
export async function nextOutboxFile(runDir: string): Promise<string> {
  return outboxAfter(runDir, await readdir(runDir).catch(() => [] as string[]));
}

/** The same, for a process about to quit, which cannot wait for a promise. */
export function nextOutboxFileSync(runDir: string): string {
  let names: string[] = [];
  try {
    names = readdirSync(runDir);
  } catch {
    // No folder yet: the first outbox.
  }
  return outboxAfter(runDir, names);
}

export function serializeOutbox(header: OutboxHeader, entries: readonly OutboxEntry[]): string {
  const lines = [toMlflowJson(header), ...entries.map((e) => toMlflowJson(e.error ? { ...e.op, error: e.error } : e.op))];
  return `${lines.join('\n')}\n`;
}

export async function writeOutbox(file: string, header: OutboxHeader, entries: readonly OutboxEntry[]): Promise<void> {
  if (entries.length === 0) {
    await rm(file, { force: true });
    return;
  }
  await writeFile(file, serializeOutbox(header, entries));
}

export function parseOutbox(file: string, text: string): Outbox {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const fail = (line: number, why: string): never => {
    throw new UserError(`${file} line ${line}: ${why}; the file is not an MLflow outbox this version understands`);
  };
  const parseLine = (line: string, index: number): unknown => {
    try {
      return JSON.parse(line);
    } catch {
      return fail(index + 1, 'not JSON');
    }
  };
  if (lines.length === 0) fail(1, 'empty file');
  const header = OutboxHeaderSchema.safeParse(parseLine(lines[0], 0));
  if (!header.success) return fail(1, `bad header (${header.error.issues[0]?.message})`);
  const entries = lines.slice(1).flatMap((line, i) => {
    const raw = parseLine(line, i + 1) as { error?: unknown };
    const op = OutboxOpSchema.safeParse(raw);
    if (!op.success) return fail(i + 2, `bad operation (${op.error.issues[0]?.message})`);
    const error = typeof raw.error === 'string' ? raw.error : undefined;
    return upgradeV1(header.data.outbox, op.data).map((o) => ({ op: o, error }));
  });
  return { file, header: { ...header.data, outbox: OUTBOX_VERSION }, entries };
}

/** Version 1 sent the model with the run files: it becomes a `model` operation of its own. */
function upgradeV1(version: number, op: OutboxOp): OutboxOp[] {
  if (version !== 1 || op.op !== 'artifacts' || !op.modelDir) return [op];
  return [op, { op: 'model', modelDir: op.modelDir, step: 0, timestamp: Date.now(), metrics: {} }];
}

export async function readOutbox(file: string): Promise<Outbox> {
  return parseOutbox(file, await readFile(file, 'utf8'));
}
