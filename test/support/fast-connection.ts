import type { MlflowConnection } from '../../trainer/src/tracking/mlflow/env';

/** A connection to a test server with quick retries, so failure tests take milliseconds. */
export function fastConnection(url: string, overrides: Partial<MlflowConnection> = {}): MlflowConnection {
  return { trackingUri: url, insecureTls: false, maxRetries: 2, timeoutMs: 5000, backoffFactorMs: 5, backoffJitterMs: 0, ...overrides };
}
