import { UserError } from '../../user-error';

/**
 * The server answered with a client error (4xx other than auth): resending it will not help.
 * Carries MLflow's own `error_code` and message, which name the offending key or value.
 */
export class MlflowApiError extends UserError {
  constructor(
    readonly status: number,
    /** MLflow's own code (`RESOURCE_DOES_NOT_EXIST`...), or `HTTP_<status>` when the answer was not MLflow's JSON. */
    readonly errorCode: string,
    readonly serverMessage: string,
    readonly endpoint: string,
    readonly contentType?: string,
  ) {
    super(`MLflow rejected ${endpoint} (HTTP ${status} ${errorCode}): ${serverMessage}`);
    this.name = 'MlflowApiError';
  }
}

/** 401 or 403: the fix is a credential or a permission, so the message names the variables. */
export class MlflowAuthError extends UserError {
  constructor(
    readonly status: 401 | 403,
    readonly endpoint: string,
    message: string,
  ) {
    super(message);
    this.name = 'MlflowAuthError';
  }
}

/** Network errors, timeouts, 429 and 5xx that outlasted every retry: worth trying again later. */
export class MlflowUnavailableError extends UserError {
  constructor(
    readonly trackingUri: string,
    readonly endpoint: string,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(
      `MLflow server ${trackingUri} unavailable for ${endpoint} after ${attempts} attempt(s): ${reason}. ` +
        'Check MLFLOW_TRACKING_URI and that the server is up.',
    );
    this.name = 'MlflowUnavailableError';
  }
}

/** The server answered 2xx with a body this client does not understand (a version mismatch or a proxy page). */
export class MlflowResponseError extends Error {
  constructor(endpoint: string, readonly detail: string) {
    super(`unexpected MLflow response from ${endpoint}: ${detail}`);
    this.name = 'MlflowResponseError';
  }
}

/** MLflow answers errors with a JSON `error_code`; an answer without one came from something else. */
export function isMlflowErrorAnswer(error: MlflowApiError): boolean {
  return !/^HTTP_\d+$/.test(error.errorCode);
}

/** The answers MLflow's Python client retries: 501 (not implemented) and the like are final. */
const TRANSIENT_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

export function isRetryableStatus(status: number): boolean {
  return TRANSIENT_STATUSES.has(status);
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Whether a failed call may succeed later without anyone changing anything (S3 errors included). */
export function isTransient(error: unknown): boolean {
  if (error instanceof MlflowUnavailableError) return true;
  const e = error as { code?: string; name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown } | undefined;
  if (!e || typeof e !== 'object') return false;
  const status = e.$metadata?.httpStatusCode;
  return (e.code !== undefined && NETWORK_CODES.has(e.code)) || e.name === 'TimeoutError' || Boolean(e.$retryable) || (status !== undefined && isRetryableStatus(status));
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function authMessage(status: 401 | 403, trackingUri: string, endpoint: string, user: string | undefined, hasToken: boolean): string {
  if (status === 401) {
    const given = user ? `the credentials of MLFLOW_TRACKING_USERNAME='${user}' were rejected` : hasToken ? 'MLFLOW_TRACKING_TOKEN was rejected' : 'no credentials were sent';
    return (
      `MLflow server ${trackingUri} requires authentication (401 on ${endpoint}): ${given}. ` +
      'Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (basic auth) or MLFLOW_TRACKING_TOKEN (bearer token).'
    );
  }
  const who = user ? `user '${user}'` : 'these credentials';
  return (
    `MLflow server ${trackingUri} denied ${who} permission for ${endpoint} (403). ` +
    'Ask an MLflow admin to grant EDIT on the experiment (and on the registered model), or set ' +
    'MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD to a user who has it.'
  );
}
