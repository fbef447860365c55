import { writeFileSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetInput, ParamValue, RunEnd, RunStart, RunStatus, Tracker } from './tracker';

/** The run record's file name in a run folder. */
export const RUN_RECORD_FILE = 'run.json';

/** `run.json`: who, when, how it ended. */
export interface RunRecord {
  readonly runName: string;
  readonly description: string;
  readonly tags: Record<string, string>;
  readonly status: RunStatus | 'RUNNING';
  readonly startTime: string;
  readonly endTime?: string;
  readonly error?: string;
}

/**
 * The run folder is the run's record of truth: every tracker event lands here as plain files,
 * whether or not a tracking server is configured, so nothing is lost when one is unreachable.
 */
export class RunFolderTracker implements Tracker {
  private record?: RunRecord;

  constructor(readonly runDir: string) {}

  async startRun(start: RunStart): Promise<void> {
    await mkdir(this.runDir, { recursive: true });
    this.record = {
      runName: start.runName,
      description: start.description,
      tags: { ...start.tags },
      status: 'RUNNING',
      startTime: new Date().toISOString(),
    };
    await this.writeRecord();
  }

  async logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    const file = join(this.runDir, 'params.json');
    const existing = await readJson<Record<string, ParamValue>>(file, {});
    await writeJson(file, { ...existing, ...params });
  }

  async setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    this.record = { ...this.started(), tags: { ...this.started().tags, ...tags } };
    await this.writeRecord();
  }

  async logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void> {
    await appendFile(join(this.runDir, 'metrics.jsonl'), `${JSON.stringify({ epoch: step, ...metrics })}\n`);
  }

  async logDataset(input: DatasetInput): Promise<void> {
    await writeJson(join(this.runDir, 'dataset.json'), input);
  }

  async endRun(end: RunEnd): Promise<void> {
    if (end.testMetrics) await writeJson(join(this.runDir, 'metrics.json'), end.testMetrics);
    this.record = { ...this.started(), status: end.status, endTime: new Date().toISOString(), error: end.error };
    await this.writeRecord();
  }

  /** Ends the record synchronously, for a process about to exit at once; a run not started yet has none to end. */
  endRunSync(end: Pick<RunEnd, 'status' | 'error'>): void {
    if (!this.record || this.record.status !== 'RUNNING') return;
    this.record = { ...this.record, status: end.status, endTime: new Date().toISOString(), error: end.error };
    writeFileSync(join(this.runDir, RUN_RECORD_FILE), jsonText(this.record));
  }

  private started(): RunRecord {
    if (!this.record) throw new Error('the run folder was used before startRun');
    return this.record;
  }

  private writeRecord(): Promise<void> {
    return writeFile(join(this.runDir, RUN_RECORD_FILE), jsonText(this.started()));
  }
}

async function readJson<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw error;
  }
}

function writeJson(file: string, value: unknown): Promise<void> {
  return writeFile(file, jsonText(value));
}

function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
