import { UserError } from '../../user-error';

/** The server's limits on one `runs/log-batch` call and on keys and values (errors.md). */
export const LOG_BATCH_LIMITS = {
  metrics: 1000,
  params: 100,
  tags: 100,
  /** Metrics, params and tags together. */
  total: 1000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
} as const;

export interface MetricEntry {
  readonly key: string;
  readonly value: number;
  readonly timestamp: number;
  readonly step: number;
  /** MLflow 3: the logged model the value describes, and the data set it was measured on. */
  readonly model_id?: string;
  readonly dataset_name?: string;
  readonly dataset_digest?: string;
}

export interface KeyValueEntry {
  readonly key: string;
  readonly value: string;
}

export interface BatchItems {
  readonly metrics: readonly MetricEntry[];
  readonly params: readonly KeyValueEntry[];
  readonly tags: readonly KeyValueEntry[];
}

/**
 * Rejects what the server would reject, before anything is sent, so one bad key cannot make a
 * whole batch (or a queued outbox) unsendable. Names every offending key.
 */
export function validateBatch(items: BatchItems): void {
  const problems: string[] = [];
  const check = (kind: string, key: string) => {
    if (key.length === 0) problems.push(`${kind} with an empty key`);
    if (key.length > LOG_BATCH_LIMITS.keyLength) {
      problems.push(`${kind} key '${key.slice(0, 40)}...' is ${key.length} characters; MLflow accepts at most ${LOG_BATCH_LIMITS.keyLength}`);
    }
  };
  for (const m of items.metrics) check('metric', m.key);
  for (const p of items.params) {
    check('param', p.key);
    if (p.value.length > LOG_BATCH_LIMITS.paramValueLength) {
      problems.push(`param '${p.key}' value is ${p.value.length} characters; MLflow accepts at most ${LOG_BATCH_LIMITS.paramValueLength}`);
    }
  }
  for (const t of items.tags) {
    check('tag', t.key);
    if (t.value.length > LOG_BATCH_LIMITS.tagValueLength) {
      problems.push(`tag '${t.key}' value is ${t.value.length} characters; MLflow accepts at most ${LOG_BATCH_LIMITS.tagValueLength}`);
    }
  }
  if (problems.length) throw new UserError(`cannot log to MLflow:\n  ${problems.join('\n  ')}`);
}

/**
 * Cuts items into log-batch payloads within the limits, keeping their order. Params and tags
 * go first so that a run's configuration lands before its metrics.
 */
export function splitBatch(items: BatchItems): BatchItems[] {
  const params = [...items.params];
  const tags = [...items.tags];
  const metrics = [...items.metrics];
  const batches: BatchItems[] = [];
  while (params.length || tags.length || metrics.length) {
    const p = params.splice(0, LOG_BATCH_LIMITS.params);
    const t = tags.splice(0, LOG_BATCH_LIMITS.tags);
    const room = Math.min(LOG_BATCH_LIMITS.metrics, LOG_BATCH_LIMITS.total - p.length - t.length);
    batches.push({ params: p, tags: t, metrics: metrics.splice(0, room) });
  }
  return batches;
}
