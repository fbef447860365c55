import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../../user-error';
import type { DatasetInput, ParamValue, RunEnd, RunStart, Tracker } from '../tracker';
import type { UploadProgress } from './artifacts/upload-directory';
import { higherIsBetter } from '../../evaluate/metric-directions';
import { MlflowClient } from './client';
import { describeError } from './errors';
import type { RetryNotice } from './http';
import { type FlushOutcome, OpQueue } from './op-queue';
import { mlflowDatasetDigest } from './dataset-input';
import { sendOp } from './op-sender';
import {
  nextOutboxFile, nextOutboxFileSync, OUTBOX_VERSION, type OutboxEntry, type OutboxHeader, type OutboxOp, serializeOutbox, summarizeUnsent, writeOutbox,
} from './outbox';
import type { SendContext } from './send-context';

export interface MlflowTrackerOptions {
  readonly experimentName: string;
  /** Continue this existing run (spot resume) instead of creating one. */
  readonly resumeRunId?: string;
  /** Registered model that receives the trained model; false: do not register. @default 'malaria-classifier' */
  readonly registerModel?: string | false;
  /** Test metric that decides the champion, read from RunEnd.testMetrics. @default 'test_auc' */
  readonly championMetric?: string;
  /** @default true, except for metrics named like a loss or an error */
  readonly greaterIsBetter?: boolean;
  /** @default 'champion' */
  readonly championAlias?: string;
  /** `mlflow.user`. @default the OS user */
  readonly user: string;
  /** `mlflow.source.name`: the program that ran. */
  readonly sourceName: string;
  /** `mlflow.source.type`. @default 'LOCAL' */
  readonly sourceType?: 'LOCAL' | 'JOB' | 'PROJECT' | 'NOTEBOOK' | 'UNKNOWN';
  /** `mlflow.source.git.commit`, when known. */
  readonly gitCommit?: string;
  /**
   * Retries for calls made during training; fewer than MLFLOW_HTTP_REQUEST_MAX_RETRIES so an
   * outage stalls training briefly (the calls are queued and resent anyway). endRun and sync use
   * the full count. @default 3
   */
  readonly liveMaxRetries?: number;
  /** While the server is unreachable, how often a call checks whether it is back. @default 30000 */
  readonly probeIntervalMs?: number;
  /** How long to wait for a new model version to become READY. @default 300000 */
  readonly versionReadyTimeoutMs?: number;
  /** How often to ask whether it is READY. @default 1000 */
  readonly versionPollMs?: number;
  /**
   * Aborted (Ctrl-C): stop waiting for the server. Retries are skipped and what is unsent goes
   * to the outbox at once.
   */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
  readonly onUploadProgress?: (progress: UploadProgress) => void;
}

/**
 * endRun could not send everything: the rest is in the outbox file. A UserError, so the CLI prints
 * this message alone and exits non-zero; `sync` sends the file later.
 */
/** The registry's current champion, as the new model's report shows it. */
export interface ChampionSummary {
  readonly modelName: string;
  readonly alias: string;
  readonly version: string;
  readonly runId: string;
  readonly runName: string;
  readonly metrics: Readonly<Record<string, number>>;
}

export class MlflowOutboxError extends UserError {
  constructor(
    readonly outboxFile: string,
    readonly unsent: number,
    readonly errors: readonly string[],
  ) {
    const runDir = path.dirname(outboxFile);
    const why = errors.length ? `\n  ${errors.slice(0, 5).join('\n  ')}${errors.length > 5 ? `\n  ... and ${errors.length - 5} more` : ''}` : '';
    super(
      `MLflow did not receive ${unsent} logging call(s) of this run; they are kept in ${outboxFile}.${why}\n` +
        `The run folder has everything. Send them later with:\n  ${syncCommand(runDir)}`,
    );
    this.name = 'MlflowOutboxError';
  }
}

const defaultLog = (line: string) => process.stderr.write(`mlflow: ${line}\n`);

/** A command a person can paste: each path quoted for a POSIX shell when it needs it. */
export function syncCommand(...runDirs: string[]): string {
  const quote = (dir: string) => (/^[\w@%+=:,./-]+$/.test(dir) ? dir : `'${dir.replace(/'/g, `'\\''`)}'`);
  return `npm run sync -- ${runDirs.map(quote).join(' ')}`;
}

/** A retry line: which call, why, and when the next attempt comes. */
function retryLine(notice: RetryNotice, uri: string, final: boolean): string {
  const next = `attempt ${notice.attempt + 1} of ${notice.attempts} in ${Math.max(1, Math.round(notice.delayMs / 1000))} s`;
  const skip = final ? '; Ctrl-C skips tracking (the rest stays in the run folder)' : '';
  return `MLflow server ${uri} did not answer ${notice.endpoint} (${notice.reason}); ${next}${skip}`;
}

type FlushResult = FlushOutcome | { readonly kind: 'skipped' };

/**
 * Logs a run to an MLflow tracking server. Never throws into training because the server is
 * down: calls are queued in order and sent when it answers again; whatever is still unsent when
 * the run ends is written to the run folder for `sync`.
 */
export class MlflowTracker implements Tracker {
  private readonly queue = new OpQueue();
  /** Shared by every send: what a sent `start` learned. */
  private readonly run: SendContext['run'] = {};
  private readonly liveClient: MlflowClient;
  /** endRun's: every retry MLFLOW_HTTP_REQUEST_MAX_RETRIES allows. */
  private readonly finalClient: MlflowClient;
  private readonly log: (line: string) => void;
  private runDir?: string;
  /** While the server is down: when to look again (0 = online). */
  private offlineUntil = 0;
  private lastStep = 0;
  /** The data set the test metrics were measured on (its split). */
  private dataset?: { readonly name: string; readonly digest: string };
  /** Calls run one after another even if the caller does not await them. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: MlflowClient,
    private readonly options: MlflowTrackerOptions,
  ) {
    this.log = options.log ?? defaultLog;
    const { connection, artifactSettings } = client;
    const hooks = (final: boolean) => ({ signal: options.signal, onRetry: (n: RetryNotice) => this.log(retryLine(n, connection.trackingUri, final)) });
    const liveRetries = Math.min(options.liveMaxRetries ?? 3, connection.maxRetries);
    this.liveClient = new MlflowClient({ ...connection, maxRetries: liveRetries }, artifactSettings, hooks(false));
    this.finalClient = new MlflowClient(connection, artifactSettings, hooks(true));
  }

  /** The MLflow run id, once the run exists on the server. */
  get runId(): string | undefined {
    return this.run.runId;
  }

  /**
   * The last step of `metric` the server holds for this run (0 when none), or undefined when the
   * server cannot say: a resumed run sends only the epochs its interrupted predecessor did not.
   */
  async lastLoggedStep(metric: string): Promise<number | undefined> {
    const runId = this.run.runId;
    if (!runId) return undefined;
    try {
      const history = await this.liveClient.getMetricHistory(runId, metric);
      return history.reduce((last, m) => Math.max(last, Number(m.step)), 0);
    } catch (error) {
      this.log(`could not read the run's ${metric} history: ${describeError(error)}`);
      return undefined;
    }
  }

  /**
   * The registered model's current champion (the version under the champion alias) with its run's
   * test metrics, for the report to set beside the new model; undefined when there is none, the
   * run does not register, or the server cannot say (then it is logged, never thrown).
   */
  async currentChampion(): Promise<ChampionSummary | undefined> {
    const name = this.options.registerModel ?? 'malaria-classifier';
    if (!name || this.offlineUntil > 0) return undefined;
    const alias = this.options.championAlias ?? 'champion';
    try {
      const version = await this.liveClient.getModelVersionByAlias(name, alias);
      if (!version?.run_id) return undefined;
      const run = await this.liveClient.getRun(version.run_id);
      const runName = run.data.tags.find((t) => t.key === 'mlflow.runName')?.value ?? version.run_id;
      const metrics = Object.fromEntries(run.data.metrics.filter((m) => m.key.startsWith('test_')).map((m) => [m.key, m.value]));
      return { modelName: name, alias, version: version.version, runId: version.run_id, runName, metrics };
    } catch (error) {
      this.log(`could not read the current ${alias} of ${name}: ${describeError(error)}`);
      return undefined;
    }
  }

  /** Logging calls the server has not received (yet). */
  get pending(): number {
    return this.queue.size;
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** @throws a UserError when the server answers but refuses the run (credentials, a deleted run to resume) */
  startRun(start: RunStart): Promise<void> {
    return this.serialize(async () => {
      this.runDir = start.runDir;
      this.queue.push({
        op: 'start',
        runName: start.runName,
        description: start.description,
        tags: { ...start.tags },
        startTime: Date.now(),
        user: this.options.user,
        sourceName: this.options.sourceName,
        sourceType: this.options.sourceType ?? 'LOCAL',
        gitCommit: this.options.gitCommit,
        resumeRunId: this.options.resumeRunId,
      });
      // A closed port is said at once, and training starts without waiting out the retries.
      const unreachable = await this.liveClient.probe();
      if (unreachable) {
        this.goOffline(`MLflow server ${this.client.trackingUri} is unreachable (${unreachable})`);
        return;
      }
      const result = await this.flush('live', true);
      if (result.kind === 'blocked') throw result.error;
    });
  }

  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    const values = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
    return this.enqueue({ op: 'params', params: values });
  }

  setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    return this.enqueue({ op: 'tags', tags: { ...tags } });
  }

  logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void> {
    // MLflow's system metrics (`system/...`) count steps of their own; the test metrics go at the last epoch.
    if (Object.keys(metrics).some((key) => !key.startsWith('system/'))) this.lastStep = Math.max(this.lastStep, step);
    const timestamp = Date.now();
    return this.enqueue({ op: 'metrics', metrics: Object.entries(metrics).map(([key, value]) => ({ key, value, timestamp, step })) });
  }

  logDataset(input: DatasetInput): Promise<void> {
    this.dataset = { name: input.name, digest: mlflowDatasetDigest(input.digest) };
    return this.enqueue({ op: 'dataset', ...input, counts: { ...input.counts } });
  }

  /**
   * Logs the test metrics, uploads the run folder and the model, registers it, and ends the run.
   * @throws MlflowOutboxError when something could not be sent (it is then in the run folder)
   */
  endRun(end: RunEnd): Promise<void> {
    return this.serialize(async () => {
      const runDir = this.runDir;
      if (!runDir) throw new Error('endRun called before startRun');
      for (const op of endOps(end, runDir, { step: this.lastStep, dataset: this.dataset }, this.options)) this.queue.push(op);
      // The last chance before the process exits: a full attempt, even if the server was down.
      this.offlineUntil = 0;
      await this.flush('final');
      const unsent = this.queue.unsent();
      if (unsent.length === 0) return;
      const file = await nextOutboxFile(runDir);
      await writeOutbox(file, this.outboxHeader(), unsent);
      throw new MlflowOutboxError(file, unsent.length, summarizeUnsent(unsent));
    });
  }

  /**
   * For a process about to quit (a second Ctrl-C): the run must not stay RUNNING. At once and
   * synchronously, everything unsent goes to the outbox with the run's end (KILLED, unless endRun
   * already queued its own); then, within `timeoutMs`, the end is sent to the server, and taken out
   * of the outbox when it arrived. What is left is said, with the command that sends it.
   */
  endAtOnce(reason: string, timeoutMs = 4000): Promise<void> {
    const runDir = this.runDir;
    if (!runDir) return Promise.resolve();
    const unsent = this.queue.unsent();
    const queuedEnd = unsent.find((entry) => entry.op.op === 'finish')?.op;
    const end: OutboxOp[] = queuedEnd ? [queuedEnd] : [{ op: 'finish', status: 'KILLED', endTime: Date.now() }, { op: 'tags', tags: { error_message: reason } }];
    let entries: OutboxEntry[] = [...unsent, ...(queuedEnd ? [] : end.map((op) => ({ op })))];
    const file = nextOutboxFileSync(runDir);
    writeFileSync(file, serializeOutbox(this.outboxHeader(), entries));
    const kept = (what: string) => `${what} kept in ${file}; send ${entries.length === 1 ? 'it' : 'them'} with:\n  ${syncCommand(runDir)}`;
    const runId = this.run.runId;
    if (!runId) {
      this.log(kept(`the run was not created on the server yet: its ${entries.length} logging call(s) are`));
      return Promise.resolve();
    }
    const status = (end[0] as Extract<OutboxOp, { op: 'finish' }>).status;
    this.log(`recording run ${runId} as ${status} before quitting (at most ${timeoutMs / 1000} s; Ctrl-C again quits now)`);
    const context = this.sendContext(new MlflowClient({ ...this.client.connection, maxRetries: 0, timeoutMs }, this.client.artifactSettings));
    return (async () => {
      // The status first: the rest can follow with sync.
      for (const op of end) {
        try {
          await sendOp(op, context);
        } catch (error) {
          this.log(kept(`the server did not take the run's ${op.op === 'finish' ? 'end' : 'error message'} (${describeError(error)}): ${entries.length} logging call(s) are`));
          return;
        }
        entries = entries.filter((entry) => entry.op !== op);
        await writeOutbox(file, this.outboxHeader(), entries);
      }
      this.log(entries.length ? kept(`run ${runId} recorded as ${status}; ${entries.length} logging call(s) it had not received are`) : `run ${runId} recorded as ${status}`);
    })();
  }

  private outboxHeader(): OutboxHeader {
    return {
      outbox: OUTBOX_VERSION,
      trackingUri: this.client.trackingUri,
      experimentName: this.options.experimentName,
      runId: this.run.runId ?? null,
      savedAt: new Date().toISOString(),
    };
  }

  private sendContext(client: MlflowClient): SendContext {
    return {
      client,
      experimentName: this.options.experimentName,
      run: this.run,
      baseDir: this.runDir ?? '.',
      log: this.log,
      onUploadProgress: this.options.onUploadProgress,
      waitForVersion: { timeoutMs: this.options.versionReadyTimeoutMs, pollMs: this.options.versionPollMs },
    };
  }

  private enqueue(op: OutboxOp): Promise<void> {
    return this.serialize(async () => {
      this.queue.push(op);
      await this.flush('live');
    });
  }

  /** Said once when the server stops answering during training (at the end, the outbox error says it). */
  private goOffline(why: string): void {
    const probeMs = this.options.probeIntervalMs ?? 30_000;
    this.log(`warning: ${why}\n  training goes on; ${this.queue.waitingCount} logging call(s) wait and are sent when the server answers (asked again every ${Math.round(probeMs / 1000)} s)`);
    this.offlineUntil = Date.now() + probeMs;
  }

  /** Sends what is queued unless the server is known to be down; an outage is logged, never thrown. */
  private async flush(mode: 'live' | 'final', starting = false): Promise<FlushResult> {
    const wasOffline = this.offlineUntil > 0;
    const client = mode === 'live' ? this.liveClient : this.finalClient;
    if (mode === 'live' && wasOffline && (Date.now() < this.offlineUntil || !(await client.isReachable()))) {
      this.offlineUntil = Math.max(this.offlineUntil, Date.now() + (this.options.probeIntervalMs ?? 30_000));
      return { kind: 'skipped' };
    }
    const ctx = this.sendContext(client);
    const rejectedBefore = this.queue.rejectedErrors().length;
    const outcome = await this.queue.flush((op) => sendOp(op, ctx));
    for (const error of this.queue.rejectedErrors().slice(rejectedBefore)) {
      this.log(`warning: MLflow rejected ${error}\n  it is kept for the outbox${mode === 'live' ? '; training goes on' : ''}`);
    }
    if (outcome.kind === 'blocked' && starting) return outcome;
    if (outcome.kind !== 'drained') {
      if (mode === 'live' && !wasOffline) this.goOffline(describeError(outcome.error));
      else this.offlineUntil = Date.now() + (this.options.probeIntervalMs ?? 30_000);
    } else {
      if (wasOffline) this.log('MLflow server answers again: queued calls sent');
      this.offlineUntil = 0;
    }
    return outcome;
  }
}

/** What ending a run sends, in order: error, test metrics, files, model, registration, status. */
function endOps(end: RunEnd, runDir: string, run: { step: number; dataset?: { name: string; digest: string } }, options: MlflowTrackerOptions): OutboxOp[] {
  const ops: OutboxOp[] = [];
  const timestamp = Date.now();
  const testMetrics = end.testMetrics ?? {};
  if (end.error) ops.push({ op: 'tags', tags: { error_message: end.error.slice(0, 5000) } });
  // On the run first, so that they land even if the model cannot; the model operation links them to it.
  if (Object.keys(testMetrics).length) {
    ops.push({ op: 'metrics', metrics: Object.entries(testMetrics).map(([key, value]) => ({ key, value, timestamp, step: run.step })) });
  }
  const modelDir = end.modelDir ? relativeIfInside(runDir, end.modelDir) : undefined;
  ops.push({ op: 'artifacts', runDir: '.', modelDir });
  if (modelDir) ops.push({ op: 'model', modelDir, step: run.step, timestamp, metrics: { ...testMetrics }, dataset: run.dataset });
  const modelName = options.registerModel ?? 'malaria-classifier';
  if (modelName && modelDir && end.status === 'FINISHED') {
    const metric = options.championMetric ?? 'test_auc';
    ops.push({
      op: 'register',
      modelName,
      metric,
      value: end.testMetrics?.[metric],
      greaterIsBetter: options.greaterIsBetter ?? higherIsBetter(metric),
      alias: options.championAlias ?? 'champion',
      modelDir,
    });
  }
  ops.push({ op: 'finish', status: end.status, endTime: Date.now() });
  return ops;
}

function relativeIfInside(runDir: string, dir: string): string {
  const rel = path.relative(runDir, dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : path.resolve(dir);
}
