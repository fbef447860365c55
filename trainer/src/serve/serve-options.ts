import { z } from 'zod';
import { BACKENDS, parseOptions } from '../config';
import { UserError } from '../user-error';

/** Every `serve` option, with its default; the CLI flags go through `parseServeOptions` once. */
export const ServeOptionsSchema = z
  .object({
    model: z.string({ error: 'required: a run folder, a model folder, or an MLflow model URI' }).min(1)
      .describe('run folder, model folder, runs:/<run_id>/model, models:/<name>@<alias>, models:/<name>/<version> or models:/m-<model_id>'),
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port (0 picks a free one)'),
    host: z.string().min(1).default('127.0.0.1').describe('address to listen on (0.0.0.0 in a container)'),
    basePath: z.string().regex(/^(\/[\w.~-]+)+$/, 'must look like /model (no trailing slash)').optional()
      .describe('prefix for every route, e.g. /model when a load balancer shares paths with MLflow'),
    backend: z.enum(BACKENDS).default('auto').describe('TF.js backend; auto picks the fastest installed'),
    threads: z.number().int().positive().max(64).optional().describe('wasm threads (default: one per core)'),
    maxBatch: z.number().int().positive().max(4096).default(64).describe('most images the model sees in one call'),
    batchWaitMs: z.number().min(0).max(1000).default(2)
      .describe('how long a request waits for others to share its batch'),
    maxBodyMb: z.number().positive().max(1024).default(20).describe('largest request body, in MB (larger: 413)'),
    maxImages: z.number().int().positive().max(100_000).default(256).describe('most images in one request (more: 400)'),
    drainSeconds: z.number().positive().max(3600).default(25)
      .describe('on SIGTERM, how long in-flight requests may take before connections are cut'),
  })
  .strict();

export type ServeOptions = z.infer<typeof ServeOptionsSchema>;
export type ServeOptionsInput = z.input<typeof ServeOptionsSchema>;

/** Validates `serve` flags, naming each bad flag and what it accepts. */
export function parseServeOptions(input: Record<string, unknown>): ServeOptions {
  return parseOptions(ServeOptionsSchema, input, { what: 'serve options' });
}

/** The variable that holds the token clients must send as `Authorization: Bearer <token>`. */
export const TOKEN_VARIABLE = 'MODEL_SERVER_TOKEN';

/** The bearer token from the environment; unset or empty leaves the server open. */
export function modelServerToken(env: NodeJS.ProcessEnv): string | undefined {
  const token = env[TOKEN_VARIABLE]?.trim();
  if (!token) return undefined;
  if (token.length < 16 || /\s/.test(token)) {
    throw new UserError(`${TOKEN_VARIABLE}: use at least 16 characters and no spaces, e.g. $(openssl rand -hex 24)`);
  }
  return token;
}

/** Whether `host` only listens on this machine, where an open server reaches nobody else. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
