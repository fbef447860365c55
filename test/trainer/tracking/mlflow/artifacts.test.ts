import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { downloadArtifacts } from '../../../../trainer/src/tracking/mlflow/artifacts/download';
import { artifactStoreFor } from '../../../../trainer/src/tracking/mlflow/artifacts/store-for-uri';
import { uploadDirectory } from '../../../../trainer/src/tracking/mlflow/artifacts/upload-directory';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import { type FakeMlflowOptions, startFakeMlflow } from '../../../support/fake-mlflow';
import { fastConnection } from '../../../support/fast-connection';
import { describeEachRealMlflow, uniqueName } from '../../../support/real-mlflow';
import { ENV } from '../../../support/real-mlflow/servers';

const MIB = 1024 * 1024;

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mlflow-artifacts-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** A run folder: a report, a nested plot and a model file. */
async function makeRunFolder(extra: Record<string, Buffer> = {}): Promise<{ dir: string; files: Record<string, Buffer> }> {
  const dir = path.join(work, 'run');
  const files: Record<string, Buffer> = {
    'report.html': Buffer.from('<html>report</html>'),
    'plots/loss.png': randomBytes(2048),
    'model/model.json': Buffer.from('{"format":"layers-model"}'),
    ...extra,
  };
  for (const [rel, bytes] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), bytes);
  }
  return { dir, files };
}

async function expectSameFiles(dir: string, files: Record<string, Buffer>): Promise<void> {
  for (const [rel, bytes] of Object.entries(files)) expect((await readFile(path.join(dir, rel))).equals(bytes)).toBe(true);
}

async function setup(opts: FakeMlflowOptions, client?: (url: string) => MlflowClient) {
  const server = await startFakeMlflow(opts);
  const mlflow = client ? client(server.url) : new MlflowClient(fastConnection(server.url));
  const experiment = await mlflow.getOrCreateExperiment('artifacts');
  const run = await mlflow.createRun({ experimentId: experiment.experiment_id, runName: 'a', startTime: 1 });
  return { server, mlflow, run };
}

describeEachRealMlflow('proxied artifacts (mlflow-artifacts:)', (mlflow) => {
  test('a run folder is uploaded file by file, then read back through runs:/ and models:/', async () => {
    const client = new MlflowClient(mlflow.connection());
    const experiment = await client.getOrCreateExperiment(uniqueName('artifacts'));
    const run = await client.createRun({ experimentId: experiment.experiment_id, runName: 'a', startTime: 1 });
    const { dir, files } = await makeRunFolder();
    const root = run.info.artifact_uri;
    expect(root).toBe(`mlflow-artifacts:/${experiment.experiment_id}/${run.info.run_id}/artifacts`);
    const progress: number[] = [];
    const sent = await uploadDirectory(artifactStoreFor(root, client), dir, '', { onProgress: (p) => progress.push(p.files) });
    expect(sent.files).toBe(3);
    expect(progress.sort()).toEqual([1, 2, 3]);

    const listed = await client.listArtifacts(run.info.run_id);
    expect(listed.files).toEqual([
      { path: 'model', is_dir: true },
      { path: 'plots', is_dir: true },
      { path: 'report.html', is_dir: false, file_size: files['report.html'].length },
    ]);

    const whole = await downloadArtifacts(client, `runs:/${run.info.run_id}`, path.join(work, 'all'));
    expect(whole).toBe(path.join(work, 'all'));
    await expectSameFiles(whole, files);
    const single = await downloadArtifacts(client, `runs:/${run.info.run_id}/report.html`, path.join(work, 'one'));
    expect(single).toBe(path.join(work, 'one', 'report.html'));

    const name = uniqueName('m');
    await client.getOrCreateRegisteredModel(name);
    const version = await client.createModelVersion({ name, source: `runs:/${run.info.run_id}/model`, runId: run.info.run_id });
    await client.setRegisteredModelAlias(name, 'champion', version.version);
    for (const uri of [`models:/${name}@champion`, `models:/${name}/1`, `models:/${name}/latest`]) {
      const dest = path.join(work, uri.replace(/\W/g, '_'));
      expect(await downloadArtifacts(client, uri, dest)).toBe(dest);
      expect(await readFile(path.join(dest, 'model.json'), 'utf8')).toBe('{"format":"layers-model"}');
    }
    await expect(downloadArtifacts(client, `models:/${name}@staging`, work)).rejects.toThrow(`registered model '${name}' has no alias 'staging'`);
    await expect(downloadArtifacts(client, `runs:/${run.info.run_id}/nope.txt`, work)).rejects.toThrow("no artifact 'nope.txt'");
  });

  test('a file over the multipart size goes in parts when the store behind the server can take them, else in one PUT; it comes back byte for byte', async () => {
    const client = new MlflowClient(mlflow.connection(), { proxyMultipart: { minBytes: 6 * MIB, chunkBytes: 5 * MIB } });
    const experiment = await client.getOrCreateExperiment(uniqueName('multipart'));
    const run = await client.createRun({ experimentId: experiment.experiment_id, runName: 'big', startTime: 1 });
    const { dir, files } = await makeRunFolder({ 'model/weights.bin': randomBytes(12 * MIB + 123) });
    await uploadDirectory(artifactStoreFor(run.info.artifact_uri, client), dir);
    const back = await downloadArtifacts(client, `runs:/${run.info.run_id}/model`, path.join(work, 'back'));
    expect((await readFile(path.join(back, 'weights.bin'))).equals(files['model/weights.bin'])).toBe(true);
    // The server started through entrypoint.py keeps artifacts in S3 (multipart); the plain one in a folder (not).
    const entrypointHome = process.env[ENV.entrypointHome];
    if (mlflow.admin && entrypointHome) {
      const log = () => readFileSync(path.join(entrypointHome, 'mlflow.log'), 'utf8');
      const part = `${experiment.experiment_id}/${run.info.run_id}/artifacts/model`;
      for (let i = 0; i < 50 && !log().includes(`mpu/complete/${part}`); i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(log()).toMatch(new RegExp(`POST /api/2\\.0/mlflow-artifacts/mpu/create/${part} HTTP/1\\.1" 200`));
      expect(log()).toMatch(new RegExp(`POST /api/2\\.0/mlflow-artifacts/mpu/complete/${part} HTTP/1\\.1" 200`));
      expect(log()).not.toMatch(new RegExp(`PUT /api/2\\.0/mlflow-artifacts/artifacts/${part}/weights\\.bin`));
    }
  });
});

describe('multipart upload when the storage behind the server cannot be reached from here', () => {
  test('the parts are abandoned (the upload aborted) and the file goes through the server in one PUT', async () => {
    // A server whose bucket signs URLs for a host this machine cannot reach (compose's minio:9000, say).
    const seen: string[] = [];
    let stored = 0;
    const server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url?.split('?')[0]}`);
      let bytes = 0;
      req.on('data', (c: Buffer) => (bytes += c.length));
      req.on('end', () => {
        if (req.url?.includes('/mpu/create/')) {
          res.end(JSON.stringify({ upload_id: 'u1', credentials: [1, 2, 3].map((n) => ({ url: `http://127.0.0.1:9/bucket/big.bin?partNumber=${n}`, part_number: n })) }));
        } else {
          if (req.method === 'PUT') stored = bytes;
          res.end('{}');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = new MlflowClient(fastConnection(url), { proxyMultipart: { minBytes: 6 * MIB, chunkBytes: 5 * MIB } });
      const file = path.join(work, 'big.bin');
      await writeFile(file, randomBytes(11 * MIB));
      await artifactStoreFor('mlflow-artifacts:/1/r/artifacts', client).uploadFile(file, 'model/big.bin');
      expect(seen).toEqual([
        'POST /api/2.0/mlflow-artifacts/mpu/create/1/r/artifacts/model',
        'POST /api/2.0/mlflow-artifacts/mpu/abort/1/r/artifacts/model',
        'PUT /api/2.0/mlflow-artifacts/artifacts/1/r/artifacts/model/big.bin',
      ]);
      expect(stored).toBe(11 * MIB);
    } finally {
      server.close();
    }
  });
});

// A real server run with --no-serve-artifacts or an s3:// root is not at hand: the fake answers as those do.
describe('local artifact root (--no-serve-artifacts with a shared folder)', () => {
  test('files are written straight into the root; the proxy is not used (it answers 503)', async () => {
    const root = path.join(work, 'artifacts-local');
    const ctx = await setup({ artifacts: { kind: 'local', root } });
    try {
      expect(ctx.run.info.artifact_uri.startsWith(`${root}/`)).toBe(true);
      const { dir, files } = await makeRunFolder();
      await uploadDirectory(artifactStoreFor(ctx.run.info.artifact_uri, ctx.mlflow), dir);
      await expectSameFiles(ctx.run.info.artifact_uri, files);
      expect(ctx.server.state.requests.some((r) => r.path.startsWith('/api/2.0/mlflow-artifacts'))).toBe(false);
      const fileUri = await downloadArtifacts(ctx.mlflow, `file://${ctx.run.info.artifact_uri}/plots`, path.join(work, 'plots'));
      expect((await readFile(path.join(fileUri, 'loss.png'))).equals(files['plots/loss.png'])).toBe(true);
      const res = await fetch(`${ctx.server.url}/api/2.0/mlflow-artifacts/artifacts/x.txt`, { method: 'PUT', body: 'x' });
      expect(res.status).toBe(503);
    } finally {
      await ctx.server.close();
    }
  });

  test('an unsupported scheme is a clear error', () => {
    const client = new MlflowClient(fastConnection('http://127.0.0.1:1'));
    expect(() => artifactStoreFor('gs://bucket/x', client)).toThrow(/the 'gs' scheme is not supported .* --serve-artifacts/);
  });
});

describe('s3:// artifact root against s3rver on loopback', () => {
  let s3: S3rver;
  let endpoint: string;
  const saved = { ...process.env };
  const created: string[] = [];

  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 's3rver-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, directory: dir, silent: true, configureBuckets: [{ name: 'mlflow-bucket', configs: [] }] });
    // s3rver is a Koa app at run time (its types leave that out): it emits an event per stored object.
    (s3 as unknown as NodeJS.EventEmitter).on('event', (e: { Records: { eventName: string; s3: { object: { key: string } } }[] }) =>
      created.push(...e.Records.map((r) => `${r.eventName} ${r.s3.object.key}`)),
    );
    const address = await s3.run();
    endpoint = `http://127.0.0.1:${address.port}`;
    // The default credential chain reads these; s3rver accepts its fixed test keys.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' });
  });
  afterAll(async () => {
    process.env = saved;
    await s3.close();
  });

  test('a folder with a file larger than one part goes up (multipart) and comes back byte for byte', async () => {
    const ctx = await setup({ artifacts: { kind: 's3', root: 's3://mlflow-bucket/mlruns' } }, (url) => new MlflowClient(fastConnection(url), { s3Endpoint: endpoint }));
    try {
      const root = ctx.run.info.artifact_uri;
      expect(root).toBe(`s3://mlflow-bucket/mlruns/${ctx.run.info.experiment_id}/${ctx.run.info.run_id}/artifacts`);
      const { dir, files } = await makeRunFolder({ 'model/group1-shard1of1.bin': randomBytes(9 * 1024 * 1024) });
      await uploadDirectory(artifactStoreFor(root, ctx.mlflow), dir);
      const key = `mlruns/${ctx.run.info.experiment_id}/${ctx.run.info.run_id}/artifacts`;
      expect(created.sort()).toEqual([
        `ObjectCreated:Post ${key}/model/group1-shard1of1.bin`,
        `ObjectCreated:Put ${key}/model/model.json`,
        `ObjectCreated:Put ${key}/plots/loss.png`,
        `ObjectCreated:Put ${key}/report.html`,
      ]);
      const back = await downloadArtifacts(ctx.mlflow, `runs:/${ctx.run.info.run_id}/`, path.join(work, 'back'));
      await expectSameFiles(back, files);
      const model = await downloadArtifacts(ctx.mlflow, `runs:/${ctx.run.info.run_id}/model`, path.join(work, 'model'));
      expect((await readFile(path.join(model, 'group1-shard1of1.bin'))).equals(files['model/group1-shard1of1.bin'])).toBe(true);
      // Nothing went through the tracking server.
      expect(ctx.server.state.requests.some((r) => r.path.includes('mlflow-artifacts'))).toBe(false);
    } finally {
      await ctx.server.close();
    }
  });
});
