import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface FakeS3 {
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

/**
 * s3rver on loopback with one bucket, and the process environment pointed at it the way the
 * trainer is configured in a local stack (AWS_ENDPOINT_URL_S3 and static credentials).
 */
export async function startFakeS3(bucket = 'trainer-test'): Promise<FakeS3> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  return {
    endpoint,
    bucket,
    async stop() {
      process.env = saved;
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
