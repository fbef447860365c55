import type { FakeMlflowState } from './fake-state';

/** A request as the route handlers see it. */
export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  /** Parsed JSON body ({} when none). */
  readonly body: Record<string, unknown>;
  readonly raw: Buffer;
}

export interface FakeReply {
  readonly status: number;
  readonly json?: unknown;
  readonly text?: string;
  readonly bytes?: Buffer;
}

export type ArtifactMode = { readonly kind: 'proxy' } | { readonly kind: 'local'; readonly root: string } | { readonly kind: 's3'; readonly root: string };

export interface FakeContext {
  readonly state: FakeMlflowState;
  readonly artifacts: ArtifactMode;
  readonly pendingRegistrationPolls: number;
  now(): number;
}

export type Handler = (req: FakeRequest, ctx: FakeContext) => FakeReply | Promise<FakeReply>;

/** An MLflow error answer: `{"error_code": ..., "message": ...}` with its HTTP status. */
export class FakeApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

export const ok = (json: unknown = {}): FakeReply => ({ status: 200, json });

export function invalid(message: string): FakeApiError {
  return new FakeApiError(400, 'INVALID_PARAMETER_VALUE', message);
}

export function notFound(message: string): FakeApiError {
  return new FakeApiError(404, 'RESOURCE_DOES_NOT_EXIST', message);
}

/** The fields a request must carry, typed as protobuf's JSON mapping accepts them. */
export function requireString(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value === '') throw invalid(`Missing value for required parameter '${field}'.`);
  return value;
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied: expected a string.`);
  return value;
}

/** int64: a number or a numeric string. */
export function optionalInt(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied.`);
}

/** double: a number, or one of protobuf's spellings of a non-finite value. */
export function requireDouble(value: unknown, field: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
  throw invalid(`Invalid value ${JSON.stringify(value)} for parameter '${field}' supplied.`);
}

export function keyValues(value: unknown, field: string): { key: string; value: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`Invalid value for parameter '${field}': expected a list.`);
  return value.map((item: Record<string, unknown>, i) => {
    if (typeof item?.key !== 'string') throw invalid(`Missing value for required parameter '${field}[${i}].key'.`);
    if (item.value !== undefined && typeof item.value !== 'string') {
      throw invalid(`Invalid value ${JSON.stringify(item.value)} for parameter '${field}[${i}].value' supplied: expected a string.`);
    }
    return { key: item.key, value: (item.value as string | undefined) ?? '' };
  });
}
