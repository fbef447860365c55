import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { listRunArtifacts, PROXY, proxyArtifacts } from './artifact-routes';
import { type ArtifactMode, FakeApiError, type FakeContext, type FakeReply, type FakeRequest, type Handler } from './fake-http';
import { emptyState, type FakeMlflowState, type RecordedRequest } from './fake-state';
import { registryRoutes } from './registry-routes';
import { trackingRoutes } from './tracking-routes';

export interface FakeMlflowOptions {
  /** How runs' artifact_uri look: proxied (`--serve-artifacts`), a local folder, or an s3:// root. @default proxy */
  readonly artifacts?: ArtifactMode;
  /** GETs of a new model version that still answer PENDING_REGISTRATION. @default 0 (READY at once) */
  readonly pendingRegistrationPolls?: number;
}

export interface FakeFailure {
  readonly status: number;
  /** Only requests whose path contains this fail. */
  readonly pathIncludes?: string;
}

export interface FakeMlflow {
  readonly url: string;
  readonly state: FakeMlflowState;
  close(): Promise<void>;
  /** Stops listening and drops connections: clients get ECONNREFUSED until up(). */
  down(): Promise<void>;
  up(): Promise<void>;
  /** The next `count` matching requests are answered with this status (500: MLflow's INTERNAL_ERROR). */
  failNext(count: number, failure?: FakeFailure): void;
  /** Requests recorded so far for an endpoint, e.g. `POST /api/2.0/mlflow/runs/log-batch`. */
  requestsTo(endpoint: string): RecordedRequest[];
}

const routes: Record<string, Handler> = { ...trackingRoutes, ...registryRoutes, ['GET /api/2.0/mlflow/artifacts/list']: listRunArtifacts };

async function route(req: FakeRequest, ctx: FakeContext): Promise<FakeReply> {
  if (req.method === 'GET' && req.path === '/health') return { status: 200, text: 'OK' };
  if (req.method === 'GET' && req.path === '/version') return { status: 200, text: '3.11.2.dev0' };
  if (req.path === PROXY || req.path.startsWith(`${PROXY}/`)) return proxyArtifacts(req, ctx);
  const handler = routes[`${req.method} ${req.path}`];
  if (!handler) throw new FakeApiError(404, 'ENDPOINT_NOT_FOUND', `No API endpoint ${req.method} ${req.path}`);
  return handler(req, ctx);
}

function send(res: http.ServerResponse, reply: FakeReply): void {
  if (reply.json !== undefined) {
    // Protobuf's JSON writer spells non-finite doubles as strings, as MLflow's answers do.
    const text = JSON.stringify(reply.json, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
    res.writeHead(reply.status, { 'content-type': 'application/json' }).end(text);
  } else if (reply.bytes) {
    res.writeHead(reply.status, { 'content-type': 'application/octet-stream' }).end(reply.bytes);
  } else {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain; charset=utf-8' };
    res.writeHead(reply.status, headers).end(reply.text ?? '');
  }
}

/**
 * An in-memory MLflow tracking server on 127.0.0.1 that answers like the transcripts in
 * shared/mlflow-contract/: the same paths, response shapes, error codes and messages, limits,
 * and the metric-history quirk. Every request is recorded in `state.requests`.
 *
 * For what a real server cannot do on demand: fail (5xx, 429), go away, stay PENDING, keep
 * artifacts in a shared folder or an s3:// root, and be MLflow 2.x: it has no logged-model API,
 * so it answers those endpoints 404 as a 2.x server does. Everything else is tested against the
 * real MLflow 3.11 (test/support/real-mlflow).
 */
export async function startFakeMlflow(opts: FakeMlflowOptions = {}): Promise<FakeMlflow> {
  const state = emptyState(Date.now());
  const ctx: FakeContext = {
    state,
    artifacts: opts.artifacts ?? { kind: 'proxy' },
    pendingRegistrationPolls: opts.pendingRegistrationPolls ?? 0,
    now: () => Date.now(),
  };
  const failures: FakeFailure[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const query = Object.fromEntries(url.searchParams);
      const isJson = (req.headers['content-type'] ?? '').includes('json') || (raw.length > 0 && req.method === 'POST');
      let body: Record<string, unknown> = {};
      const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query, body: undefined, bytes: raw.length };
      state.requests.push(record);
      const reply = (r: FakeReply) => {
        record.status = r.status;
        send(res, r);
      };
      if (isJson && raw.length) {
        try {
          body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
          (record as { body: unknown }).body = body;
        } catch {
          reply({ status: 400, json: { error_code: 'MALFORMED_REQUEST', message: 'Malformed request body: not JSON' } });
          return;
        }
      }
      const fakeReq: FakeRequest = { method: record.method, path: url.pathname, query, body, raw };
      const failIndex = failures.findIndex((f) => !f.pathIncludes || url.pathname.includes(f.pathIncludes));
      if (failIndex >= 0) {
        const [failure] = failures.splice(failIndex, 1);
        const json = failure.status === 500 ? { error_code: 'INTERNAL_ERROR', message: 'injected failure' } : undefined;
        return reply({ status: failure.status, json, text: 'injected failure' });
      }
      route(fakeReq, ctx).then(reply, (error: unknown) => {
        if (error instanceof FakeApiError) reply({ status: error.status, json: { error_code: error.errorCode, message: error.message } });
        else reply({ status: 500, json: { error_code: 'INTERNAL_ERROR', message: String(error) } });
      });
    });
  });

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve((server.address() as AddressInfo).port);
      });
    });
  const stop = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const port = await listen(0);
  let running = true;

  return {
    url: `http://127.0.0.1:${port}`,
    state,
    close: async () => {
      if (running) await stop();
      running = false;
    },
    down: async () => {
      if (running) await stop();
      running = false;
    },
    up: async () => {
      if (!running) await listen(port);
      running = true;
    },
    failNext: (count, failure = { status: 500 }) => {
      for (let i = 0; i < count; i++) failures.push(failure);
    },
    requestsTo: (endpoint) => {
      const [method, p] = endpoint.split(' ');
      return state.requests.filter((r) => r.method === method && r.path === p);
    },
  };
}
