import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentFault, UserError } from '../../../trainer/src/user-error';
import { defaultCacheDir } from '../../../trainer/src/data/cache-dir';
import { fetchToCache } from '../../../trainer/src/data/download';
import { loadImages, resolveDataSource } from '../../../trainer/src/data/load-dataset';
import { solidPng, writeZip } from '../../support/image-fixtures';

const PAYLOAD = randomBytes(300_000);
const EXPECTED = { bytes: PAYLOAD.length, sha256: createHash('sha256').update(PAYLOAD).digest('hex') };

interface ServerBehaviour {
  /** Requests (numbered from 1) that send only the first half of the body, then drop the connection. */
  cut?: (request: number) => boolean;
  /** Answer ranged requests with the whole file (200), as some servers do. */
  ignoreRange?: boolean;
  status?: number;
  body?: Buffer;
}

/** A file server on 127.0.0.1 that records the Range header of every request. */
class TestServer {
  readonly ranges: (string | undefined)[] = [];
  private readonly server: Server;
  constructor(private readonly behaviour: ServerBehaviour = {}) {
    this.server = createServer((req, res) => this.answer(req, res));
  }
  get requests(): number {
    return this.ranges.length;
  }
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/files/cell_images.zip`;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.ranges.push(req.headers.range);
    const body = this.behaviour.body ?? PAYLOAD;
    if (this.behaviour.status) {
      res.writeHead(this.behaviour.status).end('no such file');
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && !this.behaviour.ignoreRange ? Number(range[1]) : 0;
    const part = body.subarray(start);
    res.writeHead(start > 0 ? 206 : 200, {
      'content-length': part.length,
      ...(start > 0 ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (this.behaviour.cut?.(this.requests)) {
      // A pause before dropping the connection lets the client read the first half, as on a real network.
      res.write(part.subarray(0, part.length >> 1), () => setTimeout(() => res.destroy(), 30));
    } else {
      res.end(part);
    }
  }
}

let cacheDir: string;
let server: TestServer | undefined;
beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'download-'));
});
afterEach(async () => {
  await server?.stop();
  server = undefined;
  await rm(cacheDir, { recursive: true, force: true });
});

async function serve(behaviour: ServerBehaviour = {}): Promise<string> {
  server = new TestServer(behaviour);
  return server.start();
}

const quiet = { onProgress: () => undefined, retryDelayMs: 5 };

describe('fetchToCache', () => {
  test('downloads into the cache once and then reuses the verified copy without the network', async () => {
    const url = await serve();
    const seen: number[] = [];

    const path = await fetchToCache(url, { cacheDir, expected: EXPECTED, onProgress: (done) => seen.push(done) });

    expect(path).toBe(join(cacheDir, 'cell_images.zip'));
    expect((await readFile(path)).equals(PAYLOAD)).toBe(true);
    expect(seen.at(-1)).toBe(PAYLOAD.length);
    await server!.stop();
    server = undefined;
    await expect(fetchToCache(url, { cacheDir, expected: EXPECTED, ...quiet })).resolves.toBe(path);
  });

  test('a checksum mismatch names the file and both hashes, and deletes the download', async () => {
    const url = await serve();
    const wrong = { bytes: PAYLOAD.length, sha256: 'ab'.repeat(32) };

    const failure = fetchToCache(url, { cacheDir, expected: wrong, ...quiet });

    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toThrow(/checksum mismatch for cell_images\.zip/);
    await expect(failure).rejects.toThrow(`SHA-256 ${'ab'.repeat(32)}`);
    await expect(failure).rejects.toThrow(`SHA-256 ${EXPECTED.sha256}`);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  test('a transfer cut off midway is retried, resuming from the bytes already received', async () => {
    const url = await serve({ cut: (request) => request === 1 });

    const path = await fetchToCache(url, { cacheDir, expected: EXPECTED, ...quiet });

    expect((await readFile(path)).equals(PAYLOAD)).toBe(true);
    // The second request asks only for what is missing (how much arrived before the cut varies).
    expect(server!.ranges).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/)]);
    const resumedAt = Number(/\d+/.exec(server!.ranges[1]!)![0]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(PAYLOAD.length >> 1);
  });

  test('a server that ignores ranges gets the file again from the start', async () => {
    const url = await serve({ cut: (request) => request === 1, ignoreRange: true });
    const path = await fetchToCache(url, { cacheDir, expected: EXPECTED, ...quiet });
    expect((await readFile(path)).equals(PAYLOAD)).toBe(true);
  });

  test('gives up after the retries, keeping the partial file for the next run', async () => {
    const url = await serve({ cut: () => true });

    await expect(fetchToCache(url, { cacheDir, retries: 2, ...quiet })).rejects.toThrow(/after 3 attempts.*kept in .*cell_images\.zip\.part/);
    expect(server!.requests).toBe(3);
    expect(existsSync(join(cacheDir, 'cell_images.zip.part'))).toBe(true);
  });

  test('nothing listening: each attempt says it could not connect, the error says it never connected, and no .part is left', async () => {
    const closed = await serve();
    await server!.stop();
    server = undefined;
    const lines: string[] = [];
    const write = jest.spyOn(process.stderr, 'write').mockImplementation((text) => lines.push(String(text)) > 0);
    try {
      const failure = fetchToCache(closed, { cacheDir, retries: 2, ...quiet });
      await expect(failure).rejects.toBeInstanceOf(EnvironmentFault);
      await expect(failure).rejects.toThrow(new RegExp(`^could not download ${closed} after 3 attempts: connection refused by 127\\.0\\.0\\.1:\\d+: `
        + 'nothing listens there \\(ECONNREFUSED\\), so it never connected\\. Nothing was received\\. Check the address'));
    } finally {
      write.mockRestore();
    }
    expect(lines.join('')).toMatch(/could not connect \(connection refused by .*\); attempt 2 of 3 in 0\.005 s\n/);
    expect(lines.join('')).not.toMatch(/interrupted|resuming/);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  test('a missing file (404) fails at once with the status', async () => {
    const url = await serve({ status: 404 });
    await expect(fetchToCache(url, { cacheDir, ...quiet })).rejects.toThrow(/HTTP 404/);
    expect(server!.requests).toBe(1);
  });

  test('a cached file that no longer verifies is downloaded again', async () => {
    const url = await serve();
    await writeFile(join(cacheDir, 'cell_images.zip'), 'damaged');
    const path = await fetchToCache(url, { cacheDir, expected: EXPECTED, ...quiet });
    expect((await readFile(path)).equals(PAYLOAD)).toBe(true);
    expect(server!.requests).toBe(1);
  });
});

test('the default cache folder follows XDG_CACHE_HOME', () => {
  expect(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/me' })).toBe('/var/cache/me/malaria-mlops');
  expect(defaultCacheDir({ HOME: process.env.HOME })).toMatch(/\.cache\/malaria-mlops$/);
});

test('resolveDataSource downloads a zip URL into the cache and the loader reads it', async () => {
  const zipDir = await mkdtemp(join(tmpdir(), 'zip-'));
  const zipPath = join(zipDir, 'cells.zip');
  const png = await solidPng({ width: 30, height: 30 });
  await writeZip(zipPath, { 'cell_images/Parasitized/A_IMG_1_cell_1.png': png, 'cell_images/Uninfected/B_IMG_1_cell_1.png': png });
  const url = await serve({ body: await readFile(zipPath) });
  await rm(zipDir, { recursive: true });

  const source = await resolveDataSource(url, { cacheDir, seed: 1, onProgress: () => undefined });

  expect(source).toEqual({ kind: 'zip', path: join(cacheDir, 'cell_images.zip'), origin: url });
  const loaded = await loadImages(source, { size: 8, maxUnreadable: 0, onProgress: () => undefined });
  expect(loaded.images.files).toEqual(['Parasitized/A_IMG_1_cell_1.png', 'Uninfected/B_IMG_1_cell_1.png']);
  expect(loaded.source).toBe(url);
});
