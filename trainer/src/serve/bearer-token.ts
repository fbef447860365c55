import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error';

/** Load balancers and orchestrators probe these without credentials; they tell nothing about the model. */
const OPEN_PATHS = new Set(['/health', '/ping']);

/**
 * Refuses (401) a request to `path` that does not carry `Authorization: Bearer <token>`. Compared as
 * digests in constant time, so the answer's timing tells nothing about the token.
 */
export function requireBearerToken(request: IncomingMessage, path: string, token: string): void {
  if (OPEN_PATHS.has(path)) return;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (match && timingSafeEqual(digest(match[1]), digest(token))) return;
  throw new HttpError(
    401,
    `${match ? 'wrong token' : 'no token'}: send the header "Authorization: Bearer <token>" with the token the server runs with (MODEL_SERVER_TOKEN)`,
    { 'WWW-Authenticate': 'Bearer realm="model-server"' },
  );
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();
