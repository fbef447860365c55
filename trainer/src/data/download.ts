import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvironmentFault, UserError } from '../user-error';
import { defaultCacheDir } from './cache-dir';
import { type ProgressCallback, startProgress } from './progress';

export interface ExpectedFile {
  readonly bytes: number;
  /** Lower-case hex. */
  readonly sha256: string;
}

export interface FetchOptions {
  /** @default defaultCacheDir() */
  readonly cacheDir?: string;
  /** Size and hash the file must have; without it any complete download is accepted. */
  readonly expected?: ExpectedFile;
  /** Further attempts after a failed one, each resuming where the last stopped. @default 4 */
  readonly retries?: number;
  /** @default the last segment of the URL's path */
  readonly fileName?: string;
  /** Given: progress goes here instead of a bar or log lines on stderr. */
  readonly onProgress?: ProgressCallback;
  /** Wait before the first retry, doubled after each further failure. @default 1000 */
  readonly retryDelayMs?: number;
}

/** An HTTP answer or network failure worth another attempt (as opposed to a 404, which is not). */
class TransientDownloadError extends Error {
  /** `connected: false`: no connection was made at all (refused, no such host), so nothing can have arrived. */
  constructor(message: string, readonly connected = true) {
    super(message);
  }
}

/**
 * Downloads `url` once into the cache folder and returns the file's path. A cached file is reused
 * without touching the network (after checking it against `expected`, when given). A failed transfer
 * is retried with exponential backoff, resuming from the bytes already on disk (`<file>.part`) where
 * the server honours ranges. A finished download that does not match `expected` is deleted and
 * reported as a UserError naming the file and both hashes.
 */
export async function fetchToCache(url: string, opts: FetchOptions = {}): Promise<string> {
  const dir = opts.cacheDir ?? defaultCacheDir();
  const name = opts.fileName ?? fileNameOf(url);
  const target = join(dir, name);
  const partial = `${target}.part`;
  await mkdir(dir, { recursive: true });

  if (await sizeOf(target) !== undefined) {
    if (!opts.expected) return target;
    const found = await describeFile(target);
    if (matches(found, opts.expected)) return target;
    process.stderr.write(`cached ${target} is not the expected file (${found.bytes} bytes, SHA-256 ${found.sha256}); downloading it again\n`);
    await rm(target, { force: true });
  }

  await downloadWithRetries(url, partial, opts);

  if (opts.expected) {
    const found = await describeFile(partial);
    if (!matches(found, opts.expected)) {
      await rm(partial, { force: true });
      throw new UserError(
        `checksum mismatch for ${name} downloaded from ${url}:\n` +
          `  expected ${opts.expected.bytes} bytes, SHA-256 ${opts.expected.sha256}\n` +
          `  got      ${found.bytes} bytes, SHA-256 ${found.sha256}\n` +
          `The download was deleted. Run again to retry; if this repeats, the file at that URL has changed.`,
      );
    }
  }
  await rename(partial, target);
  return target;
}

async function downloadWithRetries(url: string, partial: string, opts: FetchOptions): Promise<void> {
  const attempts = 1 + (opts.retries ?? 4);
  let delay = opts.retryDelayMs ?? 1000;
  const progress = startProgress({
    label: `downloading ${basename(partial, '.part')}`,
    total: opts.expected?.bytes,
    unit: 'bytes',
    onProgress: opts.onProgress,
  });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await downloadOnce(url, partial, opts.expected?.bytes, progress.update);
        return;
      } catch (err) {
        if (!(err instanceof TransientDownloadError)) throw err;
        const kept = (await sizeOf(partial)) ?? 0;
        // An empty leftover is no head start for the next run, only clutter.
        if (kept === 0) await rm(partial, { force: true });
        if (attempt >= attempts) {
          // A network fault, not a wrong command: the same command works once the network or server does.
          throw new EnvironmentFault(`could not download ${url} after ${attempts} attempts: ${err.message}. ` + (kept
            ? `The ${kept} bytes received so far are kept in ${partial}; the next run resumes from there.`
            : 'Nothing was received. Check the address and the network, or pass a local copy to --data.'));
        }
        const what = err.connected ? `download interrupted (${err.message})` : `could not connect (${err.message})`;
        process.stderr.write(`\n${what}; attempt ${attempt + 1} of ${attempts} in ${delay / 1000} s${kept ? `, resuming at byte ${kept}` : ''}\n`);
        await sleep(delay);
        delay *= 2;
      }
    }
  } finally {
    progress.finish();
  }
}

/** One HTTP request, appending to `partial` when the server resumes and rewriting it when it does not. */
async function downloadOnce(url: string, partial: string, expectedBytes: number | undefined, report: ProgressCallback): Promise<void> {
  let start = (await sizeOf(partial)) ?? 0;
  if (expectedBytes !== undefined && start >= expectedBytes) {
    // A complete (or over-long) leftover: the checksum decides whether it is good.
    if (start === expectedBytes) return;
    await rm(partial);
    start = 0;
  }
  let response: Response;
  try {
    response = await fetch(url, { headers: start > 0 ? { range: `bytes=${start}-` } : {}, redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new TransientDownloadError(describeFetchError(err, url), !NO_CONNECTION.has(cause ?? ''));
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const reason = `HTTP ${response.status} ${response.statusText}`.trim();
    if (response.status === 408 || response.status === 429 || response.status >= 500) throw new TransientDownloadError(reason);
    throw new UserError(`cannot download ${url}: ${reason}. Check the address, or pass a local copy to --data.`);
  }
  const resumed = start > 0 && response.status === 206;
  const offset = resumed ? start : 0;
  const length = Number(response.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(length) ? offset + length : expectedBytes;
  const file = await open(partial, resumed ? 'a' : 'w');
  let received = offset;
  try {
    const reader = response.body.getReader();
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        throw new TransientDownloadError(`connection lost after ${received} bytes (${describeFetchError(err, url)})`);
      }
      if (chunk.done) break;
      await file.write(chunk.value);
      received += chunk.value.length;
      report(received, total);
    }
  } finally {
    await file.close();
  }
  if (total !== undefined && Number.isFinite(length) && received < total) {
    throw new TransientDownloadError(`transfer ended after ${received} of ${total} bytes`);
  }
}

/** Network errors that mean no connection was made: nothing was sent or received. */
const NO_CONNECTION = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

function describeFetchError(err: unknown, url: string): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const { host, hostname } = new URL(url);
  if (cause?.code === 'ECONNREFUSED') return `connection refused by ${host}: nothing listens there (ECONNREFUSED), so it never connected`;
  if (cause?.code === 'ENOTFOUND' || cause?.code === 'EAI_AGAIN') return `the host name ${hostname} does not resolve (${cause.code}), so it never connected`;
  const detail = cause?.code ?? cause?.message;
  return detail ? `${(err as Error).message}: ${detail}` : String((err as Error).message ?? err);
}

function fileNameOf(url: string): string {
  const name = basename(new URL(url).pathname);
  if (!name) throw new UserError(`cannot tell a file name from the URL ${url}; it must end in a file name such as cell_images.zip`);
  return decodeURIComponent(name);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function describeFile(path: string): Promise<ExpectedFile> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function matches(found: ExpectedFile, expected: ExpectedFile): boolean {
  return found.bytes === expected.bytes && found.sha256 === expected.sha256.toLowerCase();
}
