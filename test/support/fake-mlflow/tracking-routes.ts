import { randomUUID } from 'node:crypto';
import {
  FakeApiError,
  type FakeContext,
  type Handler,
  invalid,
  keyValues,
  notFound,
  ok,
  optionalInt,
  optionalString,
  requireDouble,
  requireString,
} from './fake-http';
import { type FakeExperiment, type FakeMetric, type FakeRun, latestMetrics } from './fake-state';
import { compare, parseFilter } from './search-filter';

const API = '/api/2.0/mlflow';
const MAX_KEY = 250;

function experimentJson(e: FakeExperiment) {
  return { ...e, tags: e.tags.length ? e.tags : undefined };
}

export function runInfoJson(run: FakeRun) {
  return { ...run.info };
}

export function runJson(run: FakeRun) {
  const kv = (m: Map<string, string>) => [...m].map(([key, value]) => ({ key, value }));
  const metrics = latestMetrics(run);
  return {
    info: runInfoJson(run),
    data: {
      ...(metrics.length ? { metrics } : {}),
      ...(run.params.size ? { params: kv(run.params) } : {}),
      ...(run.tags.size ? { tags: kv(run.tags) } : {}),
    },
    inputs: run.inputs.length ? { dataset_inputs: run.inputs } : {},
    outputs: {},
  };
}

export function getRun(ctx: FakeContext, runId: string): FakeRun {
  const run = ctx.state.runs.get(runId);
  if (!run) throw notFound(`Run with id=${runId} not found`);
  return run;
}

function activeRun(ctx: FakeContext, runId: string): FakeRun {
  const run = getRun(ctx, runId);
  if (run.info.lifecycle_stage !== 'active') {
    throw invalid(`The run ${runId} must be in the 'active' state. Current state is ${run.info.lifecycle_stage}.`);
  }
  return run;
}

function checkKey(key: string): void {
  if (key.length > MAX_KEY) throw invalid(`'key' exceeds the maximum length of ${MAX_KEY} characters`);
}

function artifactLocation(ctx: FakeContext, id: string): string {
  const a = ctx.artifacts;
  return a.kind === 'proxy' ? `mlflow-artifacts:/${id}` : `${a.root.replace(/\/$/, '')}/${id}`;
}

function parseMetric(raw: Record<string, unknown>, field: string): FakeMetric {
  const key = requireString(raw, 'key');
  checkKey(key);
  const timestamp = optionalInt(raw, 'timestamp');
  if (timestamp === undefined) throw invalid(`Missing value for required parameter '${field}.timestamp'.`);
  return { key, value: requireDouble(raw.value, `${field}.value`), timestamp, step: optionalInt(raw, 'step') ?? 0 };
}

function logParams(run: FakeRun, params: { key: string; value: string }[]): void {
  const seen = new Map<string, string>();
  for (const p of params) {
    checkKey(p.key);
    if (seen.has(p.key) && seen.get(p.key) !== p.value) {
      throw invalid(`Duplicate parameter keys have been submitted: ['${p.key}']. Please ensure the request contains only one param value per param key.`);
    }
    seen.set(p.key, p.value);
    const old = run.params.get(p.key);
    if (old !== undefined && old !== p.value) {
      throw invalid(
        `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${run.info.run_id}'. Attempted logging new value '${p.value}'.`,
      );
    }
  }
  for (const p of params) run.params.set(p.key, p.value);
}

function setTags(run: FakeRun, tags: { key: string; value: string }[]): void {
  for (const t of tags) {
    checkKey(t.key);
    run.tags.set(t.key, t.value);
    if (t.key === 'mlflow.runName') run.info.run_name = t.value;
  }
}

function page<T>(items: T[], query: { max_results?: number; page_token?: string }): { items: T[]; next?: string } {
  const offset = query.page_token ? (JSON.parse(Buffer.from(query.page_token, 'base64').toString()) as { offset: number }).offset : 0;
  const max = query.max_results ?? 1000;
  const slice = items.slice(offset, offset + max);
  const next = offset + max < items.length ? Buffer.from(JSON.stringify({ offset: offset + max })).toString('base64') : undefined;
  return { items: slice, next };
}

function runField(run: FakeRun, field: string): string | number | undefined {
  const [kind, ...rest] = field.split('.');
  const key = rest.join('.');
  if (kind === 'metrics' || kind === 'metric') return latestMetrics(run).find((m) => m.key === key)?.value;
  if (kind === 'params' || kind === 'param') return run.params.get(key);
  if (kind === 'tags' || kind === 'tag') return run.tags.get(key);
  if (kind === 'attributes' || kind === 'attribute') return (run.info as Record<string, string | number | undefined>)[key];
  return (run.info as Record<string, string | number | undefined>)[field];
}

export const trackingRoutes: Record<string, Handler> = {
  [`POST ${API}/experiments/create`]: (req, ctx) => {
    const name = requireString(req.body, 'name');
    const clash = [...ctx.state.experiments.values()].find((e) => e.name === name);
    if (clash) {
      throw new FakeApiError(400, 'RESOURCE_ALREADY_EXISTS', `Experiment(name=${name}) already exists. Error: (psycopg2.errors.UniqueViolation) duplicate key value violates unique constraint "uq_experiments_workspace_name"`);
    }
    const id = String(ctx.state.experiments.size + 3);
    const now = ctx.now();
    ctx.state.experiments.set(id, {
      experiment_id: id,
      name,
      artifact_location: artifactLocation(ctx, id),
      lifecycle_stage: 'active',
      creation_time: now,
      last_update_time: now,
      tags: keyValues(req.body.tags, 'tags'),
    });
    return ok({ experiment_id: id });
  },
  [`GET ${API}/experiments/get-by-name`]: (req, ctx) => {
    const name = requireString(req.query, 'experiment_name');
    const found = [...ctx.state.experiments.values()].find((e) => e.name === name);
    if (!found) throw notFound(`Could not find experiment with name '${name}'`);
    return ok({ experiment: experimentJson(found) });
  },
  [`GET ${API}/experiments/get`]: (req, ctx) => {
    const id = requireString(req.query, 'experiment_id');
    const found = ctx.state.experiments.get(id);
    if (!found) throw notFound(`No Experiment with id=${id} exists`);
    return ok({ experiment: experimentJson(found) });
  },
  [`POST ${API}/experiments/search`]: (req, ctx) => {
    const clauses = parseFilter(optionalString(req.body, 'filter'));
    const matching = [...ctx.state.experiments.values()].filter((e) =>
      clauses.every((c) => compare(c.field === 'name' ? e.name : e.tags.find((t) => `tags.${t.key}` === c.field)?.value, c)),
    );
    const { items, next } = page(matching, { max_results: optionalInt(req.body, 'max_results'), page_token: optionalString(req.body, 'page_token') });
    return ok({ experiments: items.map(experimentJson), ...(next ? { next_page_token: next } : {}) });
  },
  [`POST ${API}/runs/create`]: (req, ctx) => {
    const experimentId = requireString(req.body, 'experiment_id');
    const experiment = ctx.state.experiments.get(experimentId);
    if (!experiment) throw notFound(`No Experiment with id=${experimentId} exists`);
    const runId = randomUUID().replace(/-/g, '');
    const tags = keyValues(req.body.tags, 'tags');
    const runName = optionalString(req.body, 'run_name') ?? tags.find((t) => t.key === 'mlflow.runName')?.value ?? `run-${ctx.state.runs.size + 1}`;
    const run: FakeRun = {
      info: {
        run_uuid: runId,
        run_id: runId,
        experiment_id: experimentId,
        run_name: runName,
        user_id: optionalString(req.body, 'user_id') ?? '',
        status: 'RUNNING',
        start_time: optionalInt(req.body, 'start_time') ?? 0,
        artifact_uri: `${experiment.artifact_location}/${runId}/artifacts`,
        lifecycle_stage: 'active',
      },
      params: new Map(),
      tags: new Map(),
      metrics: [],
      inputs: [],
    };
    setTags(run, tags);
    run.tags.set('mlflow.runName', runName);
    ctx.state.runs.set(runId, run);
    const { outputs: _outputs, ...created } = runJson(run);
    return ok({ run: created });
  },
  [`POST ${API}/runs/update`]: (req, ctx) => {
    const run = getRun(ctx, requireString(req.body, 'run_id'));
    const status = optionalString(req.body, 'status');
    if (status && !['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(status)) throw invalid(`Invalid value ${status} for parameter 'status'`);
    if (status) run.info.status = status;
    const end = optionalInt(req.body, 'end_time');
    if (end !== undefined) run.info.end_time = end;
    const name = optionalString(req.body, 'run_name');
    if (name) setTags(run, [{ key: 'mlflow.runName', value: name }]);
    return ok({ run_info: runInfoJson(run) });
  },
  [`POST ${API}/runs/delete`]: (req, ctx) => {
    getRun(ctx, requireString(req.body, 'run_id')).info.lifecycle_stage = 'deleted';
    return ok();
  },
  [`GET ${API}/runs/get`]: (req, ctx) => ok({ run: runJson(getRun(ctx, requireString(req.query, 'run_id'))) }),
  [`POST ${API}/runs/search`]: (req, ctx) => {
    const ids = req.body.experiment_ids;
    if (!Array.isArray(ids)) throw invalid("Missing value for required parameter 'experiment_ids'.");
    const clauses = parseFilter(optionalString(req.body, 'filter'));
    let runs = [...ctx.state.runs.values()].filter(
      (r) => ids.includes(r.info.experiment_id) && r.info.lifecycle_stage === 'active' && clauses.every((c) => compare(runField(r, c.field), c)),
    );
    const orderBy = (req.body.order_by as string[] | undefined)?.[0];
    if (orderBy) {
      const [field, dir] = orderBy.split(/\s+/);
      const sign = dir?.toUpperCase() === 'DESC' ? -1 : 1;
      runs = runs.sort((a, b) => sign * (Number(runField(a, field)) - Number(runField(b, field))));
    } else runs = runs.sort((a, b) => b.info.start_time - a.info.start_time);
    const { items, next } = page(runs, { max_results: optionalInt(req.body, 'max_results'), page_token: optionalString(req.body, 'page_token') });
    return ok({ runs: items.map(runJson), ...(next ? { next_page_token: next } : {}) });
  },
  [`POST ${API}/runs/log-batch`]: (req, ctx) => {
    const run = activeRun(ctx, requireString(req.body, 'run_id'));
    const rawMetrics = (req.body.metrics as Record<string, unknown>[] | undefined) ?? [];
    const params = keyValues(req.body.params, 'params');
    const tags = keyValues(req.body.tags, 'tags');
    if (rawMetrics.length > 1000) {
      throw invalid(`A batch logging request can contain at most 1000 metrics. Got ${rawMetrics.length} metrics. Please split up metrics across multiple requests and try again.`);
    }
    if (params.length > 100) {
      throw invalid(`A batch logging request can contain at most 100 params. Got ${params.length} params. Please split up params across multiple requests and try again.`);
    }
    if (tags.length > 100) {
      throw invalid(`A batch logging request can contain at most 100 tags. Got ${tags.length} tags. Please split up tags across multiple requests and try again.`);
    }
    const total = rawMetrics.length + params.length + tags.length;
    if (total > 1000) {
      throw invalid(`A batch logging request can contain at most 1000 metrics, params, and tags in total. Got ${total} total. Please split up metrics, params, and tags across multiple requests and try again.`);
    }
    const metrics = rawMetrics.map((m, i) => parseMetric(m, `metrics[${i}]`));
    logParams(run, params);
    run.metrics.push(...metrics);
    setTags(run, tags);
    return ok();
  },
  [`POST ${API}/runs/log-metric`]: (req, ctx) => {
    const run = activeRun(ctx, requireString(req.body, 'run_id'));
    run.metrics.push(parseMetric(req.body, 'metric'));
    return ok();
  },
  [`POST ${API}/runs/log-parameter`]: (req, ctx) => {
    const run = activeRun(ctx, requireString(req.body, 'run_id'));
    logParams(run, [{ key: requireString(req.body, 'key'), value: optionalString(req.body, 'value') ?? '' }]);
    return ok();
  },
  [`POST ${API}/runs/set-tag`]: (req, ctx) => {
    const run = activeRun(ctx, requireString(req.body, 'run_id'));
    setTags(run, [{ key: requireString(req.body, 'key'), value: optionalString(req.body, 'value') ?? '' }]);
    return ok();
  },
  [`POST ${API}/runs/log-inputs`]: (req, ctx) => {
    const run = activeRun(ctx, requireString(req.body, 'run_id'));
    const datasets = (req.body.datasets as Record<string, unknown>[] | undefined) ?? [];
    for (const [i, entry] of datasets.entries()) {
      const ds = (entry.dataset ?? {}) as Record<string, unknown>;
      for (const field of ['name', 'digest', 'source_type', 'source']) {
        if (typeof ds[field] !== 'string') throw invalid(`Missing value for required parameter 'datasets[${i}].dataset.${field}'.`);
      }
      const dataset = ds as unknown as FakeRun['inputs'][number]['dataset'];
      if (!run.inputs.some((x) => x.dataset.name === dataset.name && x.dataset.digest === dataset.digest)) {
        run.inputs.push({ tags: keyValues(entry.tags, `datasets[${i}].tags`), dataset });
      }
    }
    return ok();
  },
  [`GET ${API}/metrics/get-history`]: (req, ctx) => {
    const run = getRun(ctx, requireString(req.query, 'run_id'));
    const key = requireString(req.query, 'metric_key');
    const history = run.metrics.filter((m) => m.key === key);
    // What MLflow 3.11 really does without max_results: a token and no metrics (transcript).
    if (req.query.max_results === undefined) return ok({ next_page_token: Buffer.from('{"offset": 0}').toString('base64') });
    const { items, next } = page(history, { max_results: Number(req.query.max_results), page_token: req.query.page_token });
    return ok({ ...(items.length ? { metrics: items } : {}), ...(next ? { next_page_token: next } : {}) });
  },
};
