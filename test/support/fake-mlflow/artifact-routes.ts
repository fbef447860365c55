import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FakeContext, FakeReply, FakeRequest } from './fake-http';
import { invalid, notFound, ok, requireString } from './fake-http';
import { getRun } from './tracking-routes';

export const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

const DISABLED =
  'Endpoint: /api/2.0/mlflow-artifacts/artifacts/<path:artifact_path> disabled due to the mlflow server running with `--no-serve-artifacts`. ' +
  'To enable artifacts server functionality, run `mlflow server` with `--serve-artifacts`';

interface Listed {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** Direct children of a folder in the proxied store, named relative to `prefix`. */
function listProxy(ctx: FakeContext, dir: string, prefix: string): Listed[] {
  const base = dir ? `${dir}/` : '';
  const children = new Map<string, Listed>();
  for (const [key, bytes] of ctx.state.artifacts) {
    if (!key.startsWith(base)) continue;
    const [first, ...rest] = key.slice(base.length).split('/');
    const name = prefix ? `${prefix}/${first}` : first;
    children.set(first, rest.length ? { path: name, is_dir: true } : { path: name, is_dir: false, file_size: bytes.length });
  }
  return [...children.values()].sort((a, b) => a.path.localeCompare(b.path));
}

async function listLocal(dir: string, prefix: string): Promise<Listed[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const out: Listed[] = [];
  for (const name of names.sort()) {
    const info = await stat(path.join(dir, name));
    const p = prefix ? `${prefix}/${name}` : name;
    out.push(info.isDirectory() ? { path: p, is_dir: true } : { path: p, is_dir: false, file_size: info.size });
  }
  return out;
}

/** PUT, GET (file) and GET (list) under the artifact proxy; 503 when the server does not serve artifacts. */
export function proxyArtifacts(req: FakeRequest, ctx: FakeContext): FakeReply {
  if (ctx.artifacts.kind !== 'proxy') return { status: 503, text: DISABLED };
  if (req.path === PROXY && req.method === 'GET') {
    return ok({ files: listProxy(ctx, (req.query.path ?? '').replace(/^\/+|\/+$/g, ''), '') });
  }
  const key = decodeURIComponent(req.path.slice(PROXY.length + 1));
  if (!key || key.split('/').includes('..')) throw invalid(`Invalid artifact path: '${key}'`);
  if (req.method === 'PUT') {
    ctx.state.artifacts.set(key, req.raw);
    return ok();
  }
  if (req.method === 'GET') {
    const bytes = ctx.state.artifacts.get(key);
    if (!bytes) throw notFound(`File ${key} not found`);
    return { status: 200, bytes };
  }
  throw invalid(`${req.method} is not supported on ${PROXY}`);
}

/** GET /api/2.0/mlflow/artifacts/list?run_id&path: the run's artifacts, paths relative to its root. */
export async function listRunArtifacts(req: FakeRequest, ctx: FakeContext): Promise<FakeReply> {
  const run = getRun(ctx, requireString(req.query, 'run_id'));
  const rel = (req.query.path ?? '').replace(/^\/+|\/+$/g, '');
  const root = run.info.artifact_uri;
  if (root.startsWith('mlflow-artifacts:')) {
    const dir = [new URL(root).pathname.replace(/^\/+/, ''), rel].filter(Boolean).join('/');
    return ok({ root_uri: root, files: listProxy(ctx, dir, rel) });
  }
  if (root.startsWith('/')) return ok({ root_uri: root, files: await listLocal(path.join(root, rel), rel) });
  throw invalid(`the fake server lists only proxied and local artifacts, not ${root}`);
}
