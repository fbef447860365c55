import { createWriteStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MlflowConnection } from './env';
import { authMessage, describeError, isRetryableStatus, MlflowApiError, MlflowAuthError, MlflowUnavailableError } from './errors';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface HttpRequest {
  readonly method: HttpMethod;
  /** Path below the tracking URI, starting with `/`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly json?: unknown;
  /** A streamed body; a factory because every retry needs a fresh stream. */
  readonly body?: () => Readable;
  readonly contentLength?: number;
  /** Write a 2xx response body to this file instead of buffering it. */
  readonly toFile?: string;
  /** Overrides MLFLOW_HTTP_REQUEST_MAX_RETRIES (probes of a server known to be down use 0). */
  readonly maxRetries?: number;
  readonly timeoutMs?: number;
}

/** A failed attempt that will be tried again. */
export interface RetryNotice {
  readonly endpoint: string;
  /** The attempt that just failed, from 1. */
  readonly attempt: number;
  /** All attempts this request gets (MLFLOW_HTTP_REQUEST_MAX_RETRIES + 1). */
  readonly attempts: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface TransportHooks {
  /** Called before each wait for a retry, so a person sees why nothing moves. */
  readonly onRetry?: (notice: RetryNotice) => void;
  /** Aborted: no more waiting for retries; the request fails at once as unavailable. */
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly text: string;
  /** The answer's Content-Type, when it had one: what a server that is not MLflow is told apart by. */
  readonly contentType?: string;
}

/** Protobuf's JSON mapping spells non-finite doubles as strings; JSON.stringify would send null. */
export function toMlflowJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

export function backoffMs(attempt: number, factorMs: number, jitterMs: number, random: () => number = Math.random): number {
  return Math.min(120_000, factorMs * 2 ** (attempt - 1) + random() * jitterMs);
}

/** Waits ms, or less when the signal aborts; true when it aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (aborted: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(aborted);
    };
    const onAbort = () => done(true);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface Exchange extends HttpResponse {
  readonly retryAfterMs?: number;
}

/**
 * One HTTP exchange loop with MLflow's retry policy: network errors, timeouts, 429 and 5xx are
 * retried with exponential backoff; 4xx is final and reported with the server's error_code.
 */
export class HttpTransport {
  constructor(
    readonly connection: MlflowConnection,
    readonly hooks: TransportHooks = {},
  ) {}

  async request(req: HttpRequest): Promise<HttpResponse> {
    const endpoint = `${req.method} ${req.path}`;
    const maxRetries = req.maxRetries ?? this.connection.maxRetries;
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let retryAfterMs: number | undefined;
      try {
        const res = await this.exchange(req);
        if (res.status < 400) return res;
        this.throwIfFinal(res, endpoint);
        reason = `HTTP ${res.status} ${summarize(res.text)}`;
        retryAfterMs = res.retryAfterMs;
      } catch (error) {
        if (error instanceof MlflowApiError || error instanceof MlflowAuthError) throw error;
        reason = describeError(error);
      }
      const { trackingUri, backoffFactorMs, backoffJitterMs } = this.connection;
      if (attempt > maxRetries || this.hooks.signal?.aborted) throw new MlflowUnavailableError(trackingUri, endpoint, reason, attempt);
      const delayMs = Math.max(retryAfterMs ?? 0, backoffMs(attempt, backoffFactorMs, backoffJitterMs));
      this.hooks.onRetry?.({ endpoint, attempt, attempts: maxRetries + 1, delayMs, reason });
      if (await sleep(delayMs, this.hooks.signal)) throw new MlflowUnavailableError(trackingUri, endpoint, `${reason} (retries skipped)`, attempt);
    }
  }

  private throwIfFinal(res: Exchange, endpoint: string): void {
    if (isRetryableStatus(res.status)) return;
    if (res.status === 401 || res.status === 403) {
      const { auth, trackingUri } = this.connection;
      const user = auth?.kind === 'basic' ? auth.username : undefined;
      throw new MlflowAuthError(res.status, endpoint, authMessage(res.status, trackingUri, endpoint, user, auth?.kind === 'bearer'));
    }
    const { errorCode, message } = parseErrorBody(res.status, res.text);
    throw new MlflowApiError(res.status, errorCode, message, endpoint, res.contentType);
  }

  private exchange(req: HttpRequest): Promise<Exchange> {
    const url = new URL(this.connection.trackingUri + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.append(key, String(value));
    }
    const headers: Record<string, string> = { 'user-agent': 'malaria-mlops-trainer', accept: 'application/json' };
    const auth = this.connection.auth;
    if (auth?.kind === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    if (auth?.kind === 'bearer') headers.authorization = `Bearer ${auth.token}`;
    let payload: Buffer | undefined;
    if (req.json !== undefined) {
      payload = Buffer.from(toMlflowJson(req.json));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    } else if (req.body) {
      headers['content-type'] = 'application/octet-stream';
      if (req.contentLength !== undefined) headers['content-length'] = String(req.contentLength);
    }
    const client = url.protocol === 'https:' ? https : http;
    const timeoutMs = req.timeoutMs ?? this.connection.timeoutMs;
    return new Promise<Exchange>((resolve, reject) => {
      const request = client.request(url, { method: req.method, headers, rejectUnauthorized: !this.connection.insecureTls }, (res) => {
        const status = res.statusCode ?? 0;
        const contentType = res.headers['content-type'];
        const retryAfter = Number(res.headers['retry-after']);
        const retryAfterMs = Number.isFinite(retryAfter) ? Math.min(retryAfter * 1000, 60_000) : undefined;
        if (req.toFile && status < 300) {
          pipeline(res, createWriteStream(req.toFile)).then(() => resolve({ status, text: '' }), reject);
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status, text: Buffer.concat(chunks).toString('utf8'), contentType, retryAfterMs }));
        res.on('error', reject);
      });
      // An idle timeout, like the Python client's: a slow but moving upload is not cut off.
      request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s (MLFLOW_HTTP_REQUEST_TIMEOUT)`)));
      request.on('error', reject);
      if (payload) request.end(payload);
      else if (req.body) {
        const body = req.body();
        body.on('error', (error) => request.destroy(error));
        body.pipe(request);
      } else request.end();
    });
  }
}

function parseErrorBody(status: number, text: string): { errorCode: string; message: string } {
  try {
    const body = JSON.parse(text) as { error_code?: unknown; message?: unknown };
    if (typeof body.error_code === 'string') {
      return { errorCode: body.error_code, message: typeof body.message === 'string' ? body.message : text };
    }
  } catch {
    // Not JSON: some answers (auth, disabled endpoints, proxies) are plain text.
  }
  return { errorCode: `HTTP_${status}`, message: summarize(text) || http.STATUS_CODES[status] || 'no message' };
}

export function summarize(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 300)}...` : flat;
}
