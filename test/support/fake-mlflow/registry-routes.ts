import { FakeApiError, type FakeContext, type Handler, invalid, notFound, ok, optionalString, requireString } from './fake-http';
import type { FakeModelVersion, FakeRegisteredModel } from './fake-state';
import { compare, parseFilter } from './search-filter';

const API = '/api/2.0/mlflow';

function model(ctx: FakeContext, name: string): FakeRegisteredModel {
  const found = ctx.state.models.get(name);
  if (!found) throw notFound(`Registered Model with name=${name} not found`);
  return found;
}

function version(ctx: FakeContext, name: string, v: string): FakeModelVersion {
  const found = model(ctx, name).versions.find((mv) => mv.version === v);
  if (!found) throw notFound(`Model Version (name=${name}, version=${v}) not found`);
  return found;
}

function versionJson(ctx: FakeContext, mv: FakeModelVersion) {
  const { pendingPolls: _polls, ...rest } = mv;
  const aliases = [...model(ctx, mv.name).aliases].filter(([, v]) => v === mv.version).map(([a]) => a);
  return { ...rest, ...(aliases.length ? { aliases } : {}) };
}

function modelJson(ctx: FakeContext, m: FakeRegisteredModel) {
  const latest = m.versions[m.versions.length - 1];
  return {
    name: m.name,
    creation_timestamp: m.creation_timestamp,
    last_updated_timestamp: m.last_updated_timestamp,
    ...(m.description !== undefined ? { description: m.description } : {}),
    ...(latest ? { latest_versions: [versionJson(ctx, latest)] } : {}),
    ...(m.aliases.size ? { aliases: [...m.aliases].map(([alias, v]) => ({ alias, version: v })) } : {}),
  };
}

export const registryRoutes: Record<string, Handler> = {
  [`POST ${API}/registered-models/create`]: (req, ctx) => {
    const name = requireString(req.body, 'name');
    if (ctx.state.models.has(name)) throw new FakeApiError(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
    const now = ctx.now();
    const m: FakeRegisteredModel = {
      name,
      creation_timestamp: now,
      last_updated_timestamp: now,
      description: optionalString(req.body, 'description'),
      aliases: new Map(),
      versions: [],
    };
    ctx.state.models.set(name, m);
    return ok({ registered_model: modelJson(ctx, m) });
  },
  [`GET ${API}/registered-models/get`]: (req, ctx) => ok({ registered_model: modelJson(ctx, model(ctx, requireString(req.query, 'name'))) }),
  [`GET ${API}/registered-models/search`]: (req, ctx) => {
    const clauses = parseFilter(req.query.filter);
    const found = [...ctx.state.models.values()].filter((m) => clauses.every((c) => compare(c.field === 'name' ? m.name : undefined, c)));
    return ok({ registered_models: found.slice(0, Number(req.query.max_results ?? 100)).map((m) => modelJson(ctx, m)) });
  },
  [`POST ${API}/model-versions/create`]: (req, ctx) => {
    const m = model(ctx, requireString(req.body, 'name'));
    const source = requireString(req.body, 'source');
    const runId = optionalString(req.body, 'run_id') ?? '';
    if (runId && !ctx.state.runs.has(runId)) throw notFound(`Run with id=${runId} not found`);
    const now = ctx.now();
    const mv: FakeModelVersion = {
      name: m.name,
      version: String(m.versions.length + 1),
      creation_timestamp: now,
      last_updated_timestamp: now,
      current_stage: 'None',
      description: optionalString(req.body, 'description') ?? '',
      source,
      run_id: runId,
      status: ctx.pendingRegistrationPolls > 0 ? 'PENDING_REGISTRATION' : 'READY',
      run_link: '',
      pendingPolls: ctx.pendingRegistrationPolls,
    };
    m.versions.push(mv);
    m.last_updated_timestamp = now;
    return ok({ model_version: versionJson(ctx, mv) });
  },
  [`GET ${API}/model-versions/get`]: (req, ctx) => {
    const mv = version(ctx, requireString(req.query, 'name'), requireString(req.query, 'version'));
    if (mv.status === 'PENDING_REGISTRATION' && --mv.pendingPolls <= 0) mv.status = 'READY';
    return ok({ model_version: versionJson(ctx, mv) });
  },
  [`PATCH ${API}/model-versions/update`]: (req, ctx) => {
    const mv = version(ctx, requireString(req.body, 'name'), requireString(req.body, 'version'));
    const description = optionalString(req.body, 'description');
    // As the SQL store answers: over 5,000 characters is a 400 (its database column's error).
    if (description !== undefined && description.length > 5000) throw invalid(`description of ${description.length} characters; at most 5000`);
    if (description !== undefined) mv.description = description;
    mv.last_updated_timestamp = ctx.now();
    return ok({ model_version: versionJson(ctx, mv) });
  },
  [`GET ${API}/model-versions/get-download-uri`]: (req, ctx) => {
    const mv = version(ctx, requireString(req.query, 'name'), requireString(req.query, 'version'));
    return ok({ artifact_uri: mv.source });
  },
  [`GET ${API}/model-versions/search`]: (req, ctx) => {
    const clauses = parseFilter(req.query.filter);
    const all = [...ctx.state.models.values()].flatMap((m) => m.versions);
    const field = (mv: FakeModelVersion, f: string) => (f === 'name' ? mv.name : f === 'run_id' ? mv.run_id : f === 'source' ? mv.source : undefined);
    const found = all.filter((mv) => clauses.every((c) => compare(field(mv, c.field), c)));
    return ok({ model_versions: found.slice(0, Number(req.query.max_results ?? 100)).map((mv) => versionJson(ctx, mv)) });
  },
  [`POST ${API}/registered-models/alias`]: (req, ctx) => {
    const name = requireString(req.body, 'name');
    const alias = requireString(req.body, 'alias');
    const v = requireString(req.body, 'version');
    version(ctx, name, v);
    model(ctx, name).aliases.set(alias, v);
    return ok();
  },
  [`GET ${API}/registered-models/alias`]: (req, ctx) => {
    const m = model(ctx, requireString(req.query, 'name'));
    const alias = requireString(req.query, 'alias');
    const v = m.aliases.get(alias);
    // The SQL store's answer for an alias never set: 400, not 404.
    if (v === undefined) throw invalid(`Registered model alias ${alias} not found.`);
    return ok({ model_version: versionJson(ctx, version(ctx, m.name, v)) });
  },
  [`DELETE ${API}/registered-models/alias`]: (req, ctx) => {
    const m = model(ctx, requireString(req.query, 'name'));
    m.aliases.delete(requireString(req.query, 'alias'));
    return ok();
  },
};
