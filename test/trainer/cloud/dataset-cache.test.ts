import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBlobStore } from '../../../trainer/src/cloud/blob-store';
import { cachedDatasetZip, loadCachedImages, saveCachedImages } from '../../../trainer/src/cloud/dataset-cache';
import type { LabeledImages } from '../../../trainer/src/data/types';
import { startFakeS3, type FakeS3 } from './fake-s3';

const zip = randomBytes(300_000);
const expected = { bytes: zip.length, sha256: createHash('sha256').update(zip).digest('hex') };

let s3: FakeS3;
let origin: Server;
let url: string;
let originRequests = 0;
let dir: string;
let prefix: string;
let warnings: string[];

beforeAll(async () => {
  s3 = await startFakeS3();
  origin = createServer((_req, res) => {
    originRequests++;
    res.writeHead(200, { 'content-length': zip.length }).end(zip);
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/public/Malaria/cell_images.zip`;
});
afterAll(async () => {
  await new Promise((resolve) => origin.close(resolve));
  await s3.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dscache-'));
  prefix = `s3://${s3.bucket}/datasets/${randomBytes(4).toString('hex')}/`;
  originRequests = 0;
  warnings = [];
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

const quiet = () => undefined;
const options = (cache: string) => ({ url, expected, cacheDir: join(dir, cache), onProgress: quiet, warn: (m: string) => warnings.push(m), retries: 0 });

test('the first run downloads the zip from its source and stores it in the bucket; the next copies it from there', async () => {
  const first = await cachedDatasetZip(prefix, options('first-instance'));
  expect(originRequests).toBe(1);
  expect(await sha256Of(first)).toBe(expected.sha256);
  expect(await createBlobStore(prefix, 'test').size('cell_images.zip')).toBe(zip.length);

  const second = await cachedDatasetZip(prefix, options('second-instance'));
  expect(originRequests).toBe(1);
  expect(second).toBe(join(dir, 'second-instance', 'cell_images.zip'));
  expect(await sha256Of(second)).toBe(expected.sha256);
  expect(warnings).toEqual([]);
});

test('a damaged copy in the bucket is replaced from the source, with a warning', async () => {
  await createBlobStore(prefix, 'test').write('cell_images.zip', randomBytes(zip.length));
  const file = await cachedDatasetZip(prefix, options('instance'));
  expect(await sha256Of(file)).toBe(expected.sha256);
  expect(originRequests).toBe(1);
  expect(warnings.join('\n')).toMatch(/cell_images\.zip does not match its SHA-256 \([0-9a-f]{64}\); fetching it from http:.* and replacing it/);
  // The bucket's copy is good again, so the next instance no longer needs the source.
  await cachedDatasetZip(prefix, options('next'));
  expect(originRequests).toBe(1);
});

test('a verified local copy is used without any transfer and still seeds an empty bucket', async () => {
  await cachedDatasetZip(`${join(dir, 'elsewhere')}`, options('laptop'));
  expect(originRequests).toBe(1);
  await cachedDatasetZip(prefix, options('laptop'));
  expect(originRequests).toBe(1);
  expect(await createBlobStore(prefix, 'test').size('cell_images.zip')).toBe(zip.length);
});

test('a bucket that cannot be written costs a warning, not the run', async () => {
  const file = await cachedDatasetZip('s3://no-such-bucket-for-cache/datasets/', options('instance'));
  expect(await sha256Of(file)).toBe(expected.sha256);
  expect(warnings.join('\n')).toMatch(/could not store cell_images\.zip in s3:\/\/no-such-bucket-for-cache\/datasets.*next run will download it again/);
});

describe('decoded image cache', () => {
  const images: LabeledImages = {
    size: 4,
    pixels: Uint8Array.from({ length: 3 * 4 * 4 * 3 }, (_, i) => (i * 7) % 256),
    labels: Uint8Array.of(1, 0, 1),
    files: ['Parasitized/P1_IMG_1.png', 'Uninfected/P2_IMG_1.png', 'Parasitized/P3_IMG_2.png'],
  };

  test('a saved size comes back identical for the same source, in S3 and in a folder', async () => {
    for (const where of [prefix, join(dir, 'folder-cache')]) {
      await saveCachedImages(where, 4, images, { source: 'zip-sha-1', onProgress: quiet });
      const loaded = await loadCachedImages(where, 4, { source: 'zip-sha-1', onProgress: quiet });
      expect(loaded).toBeDefined();
      expect(Buffer.from(loaded!.pixels)).toEqual(Buffer.from(images.pixels));
      expect(Array.from(loaded!.labels)).toEqual([1, 0, 1]);
      expect(loaded!.files).toEqual(images.files);
      expect(loaded!.size).toBe(4);
    }
  });

  test('another size, another source or damaged pixels are a miss, so the caller decodes afresh', async () => {
    await saveCachedImages(prefix, 4, images, { source: 'zip-sha-1', onProgress: quiet });
    await expect(loadCachedImages(prefix, 8, { source: 'zip-sha-1', onProgress: quiet })).resolves.toBeUndefined();
    await expect(loadCachedImages(prefix, 4, { source: 'zip-sha-2', onProgress: quiet })).resolves.toBeUndefined();
    await createBlobStore(prefix, 'test').write('pixels-4.bin', new Uint8Array(images.pixels.length));
    await expect(loadCachedImages(prefix, 4, { source: 'zip-sha-1', onProgress: quiet })).resolves.toBeUndefined();
  });
});
