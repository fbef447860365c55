import { randomBytes } from 'node:crypto';
import type { MlflowConnection } from '../../../trainer/src/tracking/mlflow/env';
import { fastConnection } from '../fast-connection';
import { ENV } from './servers';

/** A real MLflow tracking server for a test, as jest's global setup (or the person) gave it. */
export interface RealMlflow {
  /** `no auth` or `basic-auth`: goes into test names. */
  readonly label: string;
  /** Base URL without credentials. */
  readonly url: string;
  /** The admin of a basic-auth server. */
  readonly admin?: { readonly username: string; readonly password: string };
  /** A connection with quick retries, as the admin when the server has auth. */
  connection(overrides?: Partial<MlflowConnection>): MlflowConnection;
  /** MLFLOW_* variables for a CLI run against this server. */
  trackingEnv(): Record<string, string>;
}

function server(label: string, given: string): RealMlflow {
  const parsed = new URL(given);
  const admin = parsed.username ? { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) } : undefined;
  parsed.username = '';
  parsed.password = '';
  const url = parsed.toString().replace(/\/$/, '');
  return {
    label,
    url,
    admin,
    connection: (overrides = {}) => fastConnection(url, { auth: admin && { kind: 'basic', ...admin }, ...overrides }),
    trackingEnv: () => ({
      MLFLOW_TRACKING_URI: url,
      ...(admin ? { MLFLOW_TRACKING_USERNAME: admin.username, MLFLOW_TRACKING_PASSWORD: admin.password } : {}),
    }),
  };
}

const skipReason = () => process.env[ENV.skipReason] ?? 'no real MLflow server given';

/** The plain server (no auth), if there is one. */
export function plainMlflow(): RealMlflow | undefined {
  const url = process.env[ENV.plain];
  return url ? server('no auth', url) : undefined;
}

/** The basic-auth server (started through mlflow-stack/entrypoint.py), if there is one. */
export function authMlflow(): RealMlflow | undefined {
  const url = process.env[ENV.auth];
  return url ? server('basic-auth', url) : undefined;
}

function skipped(title: string, reason: string): void {
  describe.skip(`${title} (SKIPPED: ${reason})`, () => {
    test('needs a real MLflow server', () => undefined);
  });
}

/** One describe block per real server (with and without auth); skipped, saying why, when there is none. */
export function describeEachRealMlflow(title: string, body: (mlflow: RealMlflow) => void): void {
  const servers = [plainMlflow(), authMlflow()].filter((s): s is RealMlflow => s !== undefined);
  if (servers.length === 0) return skipped(title, skipReason());
  for (const mlflow of servers) describe(`${title} (real MLflow, ${mlflow.label})`, () => body(mlflow));
}

/** A describe block against the basic-auth server. */
export function describeRealMlflowAuth(title: string, body: (mlflow: RealMlflow) => void): void {
  const mlflow = authMlflow();
  if (!mlflow) return skipped(title, process.env[ENV.plain] ? 'no basic-auth server: set MLFLOW_TEST_AUTH_URI=http://admin:password@host:port' : skipReason());
  describe(`${title} (real MLflow, basic-auth)`, () => body(mlflow));
}

/** A describe block against one real server: the basic-auth one (the cloud's) when there is one. */
export function describeRealMlflow(title: string, body: (mlflow: RealMlflow) => void): void {
  const mlflow = authMlflow() ?? plainMlflow();
  if (!mlflow) return skipped(title, skipReason());
  describe(`${title} (real MLflow, ${mlflow.label})`, () => body(mlflow));
}

/** The servers keep what every test wrote: each test names its experiments and models uniquely. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Creates a basic-auth user (as the admin), who gets the server's default permission (READ). */
export async function createUser(mlflow: RealMlflow, username: string, password: string): Promise<void> {
  if (!mlflow.admin) throw new Error(`${mlflow.url} has no basic-auth admin`);
  const response = await fetch(`${mlflow.url}/api/2.0/mlflow/users/create`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${mlflow.admin.username}:${mlflow.admin.password}`).toString('base64')}`,
    },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new Error(`users/create ${username}: HTTP ${response.status} ${await response.text()}`);
}
