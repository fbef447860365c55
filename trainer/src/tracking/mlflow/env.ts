import { z } from 'zod';
import { UserError } from '../../user-error';
import { DEFAULT_PROXY_MULTIPART, type ProxyMultipart, S3_MIN_PART_BYTES } from './artifacts/proxy-multipart';

/**
 * The environment variables of MLflow's own Python client, with its defaults, parsed in one
 * place. The variable names are the contract: a user who already points `mlflow` at a server
 * points this trainer at it the same way.
 */
const flag = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), 'must be true or false')
  .transform((v) => ['true', '1', 'yes'].includes(v));

const seconds = z.coerce.number().positive('must be a positive number of seconds');

const emptyAsUnset = (value: unknown) => (typeof value === 'string' && value.trim() === '' ? undefined : value);

export const MlflowEnvSchema = z.object({
  MLFLOW_TRACKING_URI: z
    .string()
    .trim()
    .refine((v) => /^https?:\/\/[^/]/i.test(v), 'must be an http:// or https:// URL of an MLflow tracking server')
    .transform((v) => v.replace(/\/+$/, '')),
  MLFLOW_EXPERIMENT_NAME: z.preprocess(emptyAsUnset, z.string().trim().min(1).optional()),
  MLFLOW_TRACKING_USERNAME: z.preprocess(emptyAsUnset, z.string().optional()),
  MLFLOW_TRACKING_PASSWORD: z.preprocess(emptyAsUnset, z.string().optional()),
  MLFLOW_TRACKING_TOKEN: z.preprocess(emptyAsUnset, z.string().optional()),
  MLFLOW_TRACKING_INSECURE_TLS: z.preprocess(emptyAsUnset, flag.default(false)),
  MLFLOW_HTTP_REQUEST_MAX_RETRIES: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).max(20).default(7)),
  MLFLOW_HTTP_REQUEST_TIMEOUT: z.preprocess(emptyAsUnset, seconds.default(120)),
  MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: z.preprocess(emptyAsUnset, z.coerce.number().min(0).default(2)),
  MLFLOW_HTTP_REQUEST_BACKOFF_JITTER: z.preprocess(emptyAsUnset, z.coerce.number().min(0).default(1)),
  // Files this large go through the server's multipart API: parts straight to the bucket behind it.
  MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: z.preprocess(emptyAsUnset, flag.default(true)),
  MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: z.preprocess(emptyAsUnset, z.coerce.number().int().min(0).default(DEFAULT_PROXY_MULTIPART.minBytes)),
  MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: z.preprocess(emptyAsUnset, z.coerce.number().int().min(S3_MIN_PART_BYTES, 'must be at least 5 MiB (5242880), S3\'s smallest part').default(DEFAULT_PROXY_MULTIPART.chunkBytes)),
  // S3-compatible endpoints (MinIO, s3rver in tests): MLflow's own variable first, then the AWS SDK's.
  MLFLOW_S3_ENDPOINT_URL: z.preprocess(emptyAsUnset, z.url().optional()),
  AWS_ENDPOINT_URL_S3: z.preprocess(emptyAsUnset, z.url().optional()),
  AWS_ENDPOINT_URL: z.preprocess(emptyAsUnset, z.url().optional()),
});

export type MlflowEnv = z.infer<typeof MlflowEnvSchema>;

/** How the REST client reaches the server: the typed form of the environment. */
export interface MlflowConnection {
  /** Base URL, no trailing slash. */
  readonly trackingUri: string;
  readonly auth?: { readonly kind: 'basic'; readonly username: string; readonly password: string } | { readonly kind: 'bearer'; readonly token: string };
  readonly insecureTls: boolean;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  /** Delay before retry n (1-based) is backoffFactorMs * 2^(n-1) plus up to backoffJitterMs. */
  readonly backoffFactorMs: number;
  readonly backoffJitterMs: number;
}

/** How artifacts are moved; for `s3://`, credentials and region come from the AWS default chain. */
export interface ArtifactSettings {
  /** An S3-compatible endpoint instead of AWS (path-style addressing is then used). */
  readonly s3Endpoint?: string;
  /**
   * Files of at least minBytes go through the server's multipart upload (chunkBytes a part);
   * false: every file is one PUT through the server.
   * @default DEFAULT_PROXY_MULTIPART (32 MiB, 10 MiB parts)
   */
  readonly proxyMultipart?: ProxyMultipart | false;
}

export interface MlflowSettings {
  readonly connection: MlflowConnection;
  readonly artifacts: ArtifactSettings;
  readonly experimentName?: string;
}

/** The S3 endpoint override alone, for code that reads artifacts without a tracking server. */
export function parseArtifactEnv(env: NodeJS.ProcessEnv): ArtifactSettings {
  const schema = MlflowEnvSchema.pick({ MLFLOW_S3_ENDPOINT_URL: true, AWS_ENDPOINT_URL_S3: true, AWS_ENDPOINT_URL: true });
  const e = parseOrExplain(schema, env);
  return { s3Endpoint: e.MLFLOW_S3_ENDPOINT_URL ?? e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL };
}

function parseOrExplain<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
  throw new UserError(`invalid MLflow environment variables:\n${lines.join('\n')}`);
}

/**
 * Reads the MLflow variables. Returns undefined when MLFLOW_TRACKING_URI is unset (tracking off);
 * a bad value is a UserError naming the variable and what it accepts.
 */
export function parseMlflowEnv(env: NodeJS.ProcessEnv): MlflowSettings | undefined {
  if (!env.MLFLOW_TRACKING_URI?.trim()) return undefined;
  const e = parseOrExplain(MlflowEnvSchema, env);
  if (Boolean(e.MLFLOW_TRACKING_USERNAME) !== Boolean(e.MLFLOW_TRACKING_PASSWORD)) {
    throw new UserError('set both MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD for basic auth, or neither');
  }
  // Same precedence as MLflow's Python client: basic credentials win over a token.
  const auth = e.MLFLOW_TRACKING_USERNAME && e.MLFLOW_TRACKING_PASSWORD
    ? { kind: 'basic' as const, username: e.MLFLOW_TRACKING_USERNAME, password: e.MLFLOW_TRACKING_PASSWORD }
    : e.MLFLOW_TRACKING_TOKEN
      ? { kind: 'bearer' as const, token: e.MLFLOW_TRACKING_TOKEN }
      : undefined;
  return {
    connection: {
      trackingUri: e.MLFLOW_TRACKING_URI,
      auth,
      insecureTls: e.MLFLOW_TRACKING_INSECURE_TLS,
      maxRetries: e.MLFLOW_HTTP_REQUEST_MAX_RETRIES,
      timeoutMs: e.MLFLOW_HTTP_REQUEST_TIMEOUT * 1000,
      backoffFactorMs: e.MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR * 1000,
      backoffJitterMs: e.MLFLOW_HTTP_REQUEST_BACKOFF_JITTER * 1000,
    },
    artifacts: {
      s3Endpoint: e.MLFLOW_S3_ENDPOINT_URL ?? e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL,
      proxyMultipart: e.MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD
        && { minBytes: e.MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE, chunkBytes: e.MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE },
    },
    experimentName: e.MLFLOW_EXPERIMENT_NAME,
  };
}
