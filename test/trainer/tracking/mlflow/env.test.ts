import { UserError } from '../../../../trainer/src/user-error';
import { parseArtifactEnv, parseMlflowEnv } from '../../../../trainer/src/tracking/mlflow/env';

describe('parseMlflowEnv', () => {
  test('tracking is off when MLFLOW_TRACKING_URI is unset or blank', () => {
    expect(parseMlflowEnv({})).toBeUndefined();
    expect(parseMlflowEnv({ MLFLOW_TRACKING_URI: '  ' })).toBeUndefined();
  });

  test("defaults are MLflow's Python client's (7 retries, 120 s timeout, backoff factor 2 s), but multipart upload is on from 32 MiB", () => {
    const settings = parseMlflowEnv({ MLFLOW_TRACKING_URI: 'http://mlflow.internal:5000/' });
    expect(settings).toEqual({
      connection: {
        trackingUri: 'http://mlflow.internal:5000',
        auth: undefined,
        insecureTls: false,
        maxRetries: 7,
        timeoutMs: 120_000,
        backoffFactorMs: 2000,
        backoffJitterMs: 1000,
      },
      artifacts: { s3Endpoint: undefined, proxyMultipart: { minBytes: 32 * 1024 * 1024, chunkBytes: 10 * 1024 * 1024 } },
      experimentName: undefined,
    });
  });

  test('multipart upload through the server follows MLflow\'s variables', () => {
    const base = { MLFLOW_TRACKING_URI: 'http://m:5000' };
    expect(parseMlflowEnv({ ...base, MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD: 'false' })?.artifacts.proxyMultipart).toBe(false);
    expect(parseMlflowEnv({ ...base, MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE: '1000', MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: '6000000' })?.artifacts.proxyMultipart)
      .toEqual({ minBytes: 1000, chunkBytes: 6_000_000 });
    expect(() => parseMlflowEnv({ ...base, MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: '1000' })).toThrow(/MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE: must be at least 5 MiB/);
  });

  test('reads every variable', () => {
    const settings = parseMlflowEnv({
      MLFLOW_TRACKING_URI: 'https://mlflow.example.org',
      MLFLOW_EXPERIMENT_NAME: 'cells',
      MLFLOW_TRACKING_TOKEN: 'tok',
      MLFLOW_TRACKING_INSECURE_TLS: 'true',
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: '3',
      MLFLOW_HTTP_REQUEST_TIMEOUT: '2.5',
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4568',
    });
    expect(settings?.connection).toMatchObject({ auth: { kind: 'bearer', token: 'tok' }, insecureTls: true, maxRetries: 3, timeoutMs: 2500 });
    expect(settings?.experimentName).toBe('cells');
    expect(settings?.artifacts.s3Endpoint).toBe('http://127.0.0.1:4568');
  });

  test('basic credentials win over a token, like the Python client', () => {
    const settings = parseMlflowEnv({
      MLFLOW_TRACKING_URI: 'http://h',
      MLFLOW_TRACKING_USERNAME: 'bob',
      MLFLOW_TRACKING_PASSWORD: 'pw',
      MLFLOW_TRACKING_TOKEN: 'tok',
    });
    expect(settings?.connection.auth).toEqual({ kind: 'basic', username: 'bob', password: 'pw' });
  });

  test.each([
    [{ MLFLOW_TRACKING_URI: 'file:///tmp/mlruns' }, /MLFLOW_TRACKING_URI: must be an http/],
    [{ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_HTTP_REQUEST_MAX_RETRIES: 'many' }, /MLFLOW_HTTP_REQUEST_MAX_RETRIES/],
    [{ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_HTTP_REQUEST_TIMEOUT: '0' }, /MLFLOW_HTTP_REQUEST_TIMEOUT: must be a positive/],
    [{ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_TRACKING_INSECURE_TLS: 'maybe' }, /MLFLOW_TRACKING_INSECURE_TLS: must be true or false/],
    [{ MLFLOW_TRACKING_URI: 'http://h', MLFLOW_TRACKING_USERNAME: 'bob' }, /MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/],
  ])('a bad value is a UserError naming the variable (%o)', (env, message) => {
    expect(() => parseMlflowEnv(env)).toThrow(UserError);
    expect(() => parseMlflowEnv(env)).toThrow(message);
  });

  test("MLflow's own S3 endpoint variable wins over the AWS SDK's", () => {
    expect(parseArtifactEnv({ MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000', AWS_ENDPOINT_URL: 'http://other:1' })).toEqual({ s3Endpoint: 'http://minio:9000' });
    expect(parseArtifactEnv({ AWS_ENDPOINT_URL: 'http://other:1' })).toEqual({ s3Endpoint: 'http://other:1' });
  });
});
