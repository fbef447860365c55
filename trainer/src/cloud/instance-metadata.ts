import { Worker } from 'node:worker_threads';

/**
 * The EC2 instance metadata service, version 2 only (the launch template requires it): a PUT for a
 * session token, then GETs that carry it. Every call has a short timeout and answers undefined off
 * EC2, so a laptop run never waits on it. Tests point it elsewhere with the SDK's own variable,
 * AWS_EC2_METADATA_SERVICE_ENDPOINT.
 */
export interface MetadataOptions {
  readonly endpoint?: string;
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
}

export interface InstanceIdentity {
  readonly instanceId: string;
  readonly instanceType: string;
  readonly region: string;
  readonly availabilityZone: string;
  /** 'spot' or 'on-demand'. */
  readonly lifecycle?: string;
}

const DEFAULT_ENDPOINT = 'http://169.254.169.254';
const DEFAULT_TIMEOUT_MS = 1000;

export async function instanceIdentity(options: MetadataOptions = {}): Promise<InstanceIdentity | undefined> {
  const session = await openSession(options);
  if (!session) return undefined;
  const document = await session.get('/latest/dynamic/instance-identity/document');
  if (!document) return undefined;
  const parsed = JSON.parse(document) as Partial<InstanceIdentity>;
  if (!parsed.instanceId || !parsed.instanceType) return undefined;
  const lifecycle = await session.get('/latest/meta-data/instance-life-cycle');
  return {
    instanceId: parsed.instanceId,
    instanceType: parsed.instanceType,
    region: parsed.region ?? '',
    availabilityZone: parsed.availabilityZone ?? '',
    ...(lifecycle ? { lifecycle: lifecycle.trim() } : {}),
  };
}

/**
 * Watches for the spot two-minute interruption notice and calls `onNotice` once when it appears,
 * so the loop can checkpoint well before the instance goes away. Returns a function that stops it.
 *
 * The polling runs on a thread of its own: a training step holds this thread for seconds, and a
 * metadata request needs several turns of the event loop (connect, send, read), so on this thread
 * every request would time out during training and the notice would never be seen. The notice
 * itself reaches `onNotice` at the next turn of this thread's loop: between two steps.
 */
export function watchSpotInterruption(onNotice: (action: string) => void, options: MetadataOptions & { intervalMs?: number } = {}): () => void {
  const env = options.env ?? process.env;
  if (env.AWS_EC2_METADATA_DISABLED === 'true') return () => undefined;
  const base = (options.endpoint ?? env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const worker = new Worker(SPOT_WATCHER_SOURCE, {
    eval: true,
    workerData: { base, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, intervalMs: options.intervalMs ?? 5000 },
  });
  let stopped = false;
  const stop = () => {
    stopped = true;
    void worker.terminate();
  };
  worker.unref();
  worker.on('message', (action: string) => {
    if (stopped) return;
    stop();
    onNotice(action);
  });
  // A watcher that cannot run is no reason to stop training.
  worker.on('error', () => undefined);
  return stop;
}

/**
 * The watcher thread: IMDSv2 (a token, then the instance-action document), every `intervalMs`.
 * Source text rather than a function, so no bundler can rename or wrap anything in it. Off EC2
 * the first token request fails and the thread ends.
 */
const SPOT_WATCHER_SOURCE = `
const { parentPort, workerData: { base, timeoutMs, intervalMs } } = require('node:worker_threads');
async function request(path, init) {
  try {
    const response = await fetch(base + path, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok ? body : undefined;
  } catch {
    return undefined;
  }
}
async function poll() {
  const token = await request('/latest/api/token', { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' } });
  if (token === undefined) return;
  const action = await request('/latest/meta-data/spot/instance-action', { headers: { 'X-aws-ec2-metadata-token': token } });
  if (action) parentPort.postMessage(action);
  else setTimeout(poll, intervalMs);
}
poll();
`;

interface Session {
  get(path: string): Promise<string | undefined>;
}

async function openSession(options: MetadataOptions): Promise<Session | undefined> {
  const env = options.env ?? process.env;
  if (env.AWS_EC2_METADATA_DISABLED === 'true') return undefined;
  const base = (options.endpoint ?? env.AWS_EC2_METADATA_SERVICE_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const token = await request(`${base}/latest/api/token`, {
    method: 'PUT',
    headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '300' },
  }, timeoutMs);
  if (!token) return undefined;
  return { get: (path) => request(`${base}${path}`, { headers: { 'X-aws-ec2-metadata-token': token } }, timeoutMs) };
}

/** The body of a 200 answer; undefined for any other answer, a refused connection or a timeout. */
async function request(url: string, init: RequestInit, timeoutMs: number): Promise<string | undefined> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok ? body : undefined;
  } catch {
    return undefined;
  }
}
