import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireBearerToken } from './bearer-token';
import { HttpError } from './http-error';
import { MicroBatcher } from './micro-batcher';
import { route, type Reply, type ServerState } from './routes';
import { ServeMetrics } from './serve-metrics';
import type { ServedModel } from './served-model';

export interface ModelServerProps {
  /** Loads the model; the server listens (and answers /health with 503) while this runs. */
  readonly load: () => Promise<ServedModel>;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** 0 picks a free port. @default 8080 */
  readonly port?: number;
  /** Prefix of every route (`/model` serves `/model/invocations`); other paths are 404. @default '' */
  readonly basePath?: string;
  /** @default 64 */
  readonly maxBatch?: number;
  /** @default 2 */
  readonly batchWaitMs?: number;
  /** @default 20 MB */
  readonly maxBodyBytes?: number;
  /** @default 256 */
  readonly maxImages?: number;
  /** After `close()`, how long in-flight requests may run before their connections are cut. @default 25 s */
  readonly drainMs?: number;
  /**
   * Every route but /health and /ping then needs `Authorization: Bearer <token>` (401 without).
   * @default no authentication
   */
  readonly token?: string;
  /** Receives one line per event worth a person's attention. @default no logging */
  readonly log?: (line: string) => void;
}

export interface RunningModelServer {
  readonly url: string;
  readonly port: number;
  /** Settles when the model has loaded (or failed to: the server then keeps answering 503). */
  readonly ready: Promise<void>;
  readonly metrics: ServeMetrics;
  /** Stops accepting connections, lets in-flight requests finish, then resolves. */
  close(): Promise<void>;
}

/** Starts listening at once and loads the model in the background, so orchestrators can watch /health. */
export async function startModelServer(props: ModelServerProps): Promise<RunningModelServer> {
  const log = props.log ?? (() => undefined);
  const maxBatch = props.maxBatch ?? 64;
  const metrics = new ServeMetrics();
  let state: ServerState = { phase: 'loading' };
  let stopping = false;
  const context = {
    state: () => state,
    stopping: () => stopping,
    metrics,
    maxBodyBytes: props.maxBodyBytes ?? 20e6,
    maxImages: props.maxImages ?? 256,
    tokenRequired: props.token !== undefined,
  };

  const server = createServer((request, response) => {
    void answer(request, response);
  });
  // Longer than a load balancer's idle timeout (ALB: 60 s), so the balancer, not the server, closes idle connections.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = pathOf(request.url, props.basePath ?? '');
    let reply: Reply;
    try {
      if (props.token !== undefined) requireBearerToken(request, path, props.token);
      reply = await route(request, path, context);
    } catch (error) {
      reply = errorReply(error, `${request.method} ${path}`, log);
    }
    if (stopping) response.setHeader('Connection', 'close');
    send(response, reply, request.method === 'HEAD');
    metrics.observeRequest(path, request.method ?? 'GET', reply.status, Number(process.hrtime.bigint() - started) / 1e9);
  }

  server.listen(props.port ?? 8080, props.host ?? '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const url = `http://${formatHost(props.host ?? '127.0.0.1')}:${port}${props.basePath ?? ''}`;
  log(`listening on ${url}; loading the model...`);

  const ready = props.load().then(
    (model) => {
      const batcher = new MicroBatcher<Uint8Array, number>({
        maxBatch,
        maxWaitMs: props.batchWaitMs ?? 2,
        run: async (images) => {
          const probabilities = await model.predict(images);
          metrics.observeBatch(images.length);
          return Array.from(probabilities);
        },
      });
      state = { phase: 'ready', model: model.info, batcher, explain: model.explain };
      metrics.setReady(true);
      log(`model ${model.info.name} version ${model.info.version} ready (from ${model.info.source}); POST ${url}/invocations`);
    },
    (error: unknown) => {
      state = { phase: 'failed', error: error instanceof Error ? error.message : String(error) };
      throw error;
    },
  );
  // Not logged here: whoever awaits `ready` reports the failure (the serve command prints it once and
  // exits); one who never does still sees it in /health.
  ready.catch(() => undefined);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      metrics.setReady(false);
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), props.drainMs ?? 25_000);
      await closed;
      clearTimeout(cut);
    })();
    return closing;
  };

  return { url, port, ready, metrics, close };
}

/** The path routes are matched on: below the base path, without trailing slashes; a path outside the base path matches none. */
function pathOf(rawUrl: string | undefined, basePath: string): string {
  const raw = (rawUrl ?? '/').split('?')[0];
  const path = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
  if (!basePath) return path;
  return path.startsWith(`${basePath}/`) ? path.slice(basePath.length) : `${path} (outside ${basePath})`;
}

function errorReply(error: unknown, what: string, log: (line: string) => void): Reply {
  if (error instanceof HttpError) {
    return { status: error.status, body: { error_code: errorCode(error.status), message: error.message }, headers: error.headers };
  }
  const message = error instanceof Error ? error.message : String(error);
  log(`${what} failed: ${error instanceof Error && error.stack ? error.stack : message}`);
  return { status: 500, body: { error_code: 'INTERNAL_ERROR', message: `internal error: ${message}` } };
}

/** MLflow's scoring server names its errors this way; clients written for it can keep their checks. */
function errorCode(status: number): string {
  if (status === 400) return 'BAD_REQUEST';
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 413) return 'REQUEST_TOO_LARGE';
  if (status === 404) return 'ENDPOINT_NOT_FOUND';
  if (status === 503) return 'TEMPORARILY_UNAVAILABLE';
  return 'INVALID_REQUEST';
}

function send(response: ServerResponse, reply: Reply, headOnly: boolean): void {
  const isText = typeof reply.body === 'string' && reply.contentType !== undefined;
  const payload = isText ? (reply.body as string) : `${JSON.stringify(reply.body)}\n`;
  response.statusCode = reply.status;
  response.setHeader('Content-Type', isText ? (reply.contentType as string) : 'application/json; charset=utf-8');
  response.setHeader('Content-Length', Buffer.byteLength(payload));
  for (const [name, value] of Object.entries(reply.headers ?? {})) response.setHeader(name, value);
  response.end(headOnly ? undefined : payload);
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
