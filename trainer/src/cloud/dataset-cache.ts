import { createHash } from 'node:crypto';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { NIH_DATASET } from '../config';
import { defaultCacheDir } from '../data/cache-dir';
import { fetchToCache, type ExpectedFile, type FetchOptions } from '../data/download';
import { startProgress, type ProgressCallback } from '../data/progress';
import type { LabeledImages } from '../data/types';
import { createBlobStore, type BlobStore } from './blob-store';

const FLAG = '--dataset-cache';

export interface DatasetCacheOptions {
  /** Where the zip comes from when the bucket does not have it yet. @default NIH_DATASET.url */
  readonly url?: string;
  /** @default NIH_DATASET's size and SHA-256 */
  readonly expected?: ExpectedFile;
  /** @default the last segment of `url` */
  readonly fileName?: string;
  /** Local cache folder. @default defaultCacheDir() */
  readonly cacheDir?: string;
  readonly s3?: S3Client;
  /** Given: transfer progress goes here instead of stderr. */
  readonly onProgress?: ProgressCallback;
  readonly retries?: FetchOptions['retries'];
  readonly retryDelayMs?: FetchOptions['retryDelayMs'];
  /** Warnings a person should see (a damaged or unwritable cache). @default stderr */
  readonly warn?: (message: string) => void;
}

/**
 * `--dataset-cache s3://bucket/datasets/malaria/`: returns the local path of the verified data set
 * zip. The first cloud run downloads it from its source once and stores it in the bucket; later
 * runs copy it from the bucket (through the VPC's gateway endpoint, free and fast). A local copy
 * that already checks out is used as it is. `prefix` may also be a local folder.
 */
export async function cachedDatasetZip(prefix: string, options: DatasetCacheOptions = {}): Promise<string> {
  const url = options.url ?? NIH_DATASET.url;
  const expected = options.expected ?? { bytes: NIH_DATASET.bytes, sha256: NIH_DATASET.sha256 };
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const fileName = options.fileName ?? decodeURIComponent(new URL(url).pathname.split('/').pop() || 'dataset.zip');
  const warn = options.warn ?? ((message: string) => process.stderr.write(`warning: ${message}\n`));
  const store = createBlobStore(prefix, FLAG, options.s3);
  const local = join(cacheDir, fileName);
  const fetchOptions: FetchOptions = {
    cacheDir, expected, fileName, onProgress: options.onProgress, retries: options.retries, retryDelayMs: options.retryDelayMs,
  };

  let inBucket = (await store.size(fileName)) === expected.bytes;
  if (inBucket && (await sizeOf(local)) !== expected.bytes) {
    const copied = await transfer(`copying ${fileName} from ${store.description}`, expected.bytes, options.onProgress, (progress) =>
      store.downloadTo(fileName, local, progress));
    if (copied.sha256 === expected.sha256.toLowerCase()) return local;
    warn(`${store.description}/${fileName} does not match its SHA-256 (${copied.sha256}); fetching it from ${url} and replacing it`);
    await rm(local, { force: true });
    inBucket = false;
  }
  // Checks a local copy against `expected` and downloads only when it is missing or wrong.
  const zip = await fetchToCache(url, fetchOptions);
  if (!inBucket) await uploadQuietly(store, zip, fileName, expected.bytes, options, warn);
  return zip;
}

/** The decoded images of one size, cached as raw pixels next to the zip so later runs skip decoding. */
export interface ImageCacheOptions {
  /**
   * What the images were decoded from and how (e.g. the zip's SHA-256 plus the decoder's version):
   * a cache written from another source is ignored.
   */
  readonly source: string;
  readonly s3?: S3Client;
  readonly onProgress?: ProgressCallback;
}

export function imageCacheNames(size: number): { pixels: string; header: string } {
  return { pixels: `pixels-${size}.bin`, header: `pixels-${size}.json` };
}

/** The cached images of `size` decoded from `options.source`, or undefined when there are none. */
export async function loadCachedImages(prefix: string, size: number, options: ImageCacheOptions): Promise<LabeledImages | undefined> {
  const store = createBlobStore(prefix, FLAG, options.s3);
  const names = imageCacheNames(size);
  const header = await readHeader(store, names.header);
  if (!header || header.size !== size || header.source !== options.source) return undefined;
  const pixels = await store.read(names.pixels);
  if (!pixels || pixels.length !== header.count * size * size * 3 || sha256(pixels) !== header.pixelsSha256) return undefined;
  const labels = new Uint8Array(Buffer.from(header.labels, 'base64'));
  if (labels.length !== header.count || header.files.length !== header.count) return undefined;
  return { size, pixels, labels, files: header.files };
}

/** Stores decoded images (pixels first, then the small header that makes them visible). */
export async function saveCachedImages(prefix: string, size: number, images: LabeledImages, options: ImageCacheOptions): Promise<void> {
  if (images.size !== size) throw new Error(`saveCachedImages: images are ${images.size} px, not ${size}`);
  const store = createBlobStore(prefix, FLAG, options.s3);
  const names = imageCacheNames(size);
  const header: ImageCacheHeader = {
    format: IMAGE_CACHE_FORMAT,
    size,
    count: images.labels.length,
    source: options.source,
    pixelsSha256: sha256(images.pixels),
    labels: Buffer.from(images.labels.buffer, images.labels.byteOffset, images.labels.byteLength).toString('base64'),
    files: [...images.files],
  };
  await transfer(`storing ${names.pixels} in ${store.description}`, images.pixels.length, options.onProgress, (progress) =>
    store.write(names.pixels, images.pixels, progress));
  await store.write(names.header, JSON.stringify(header));
}

const IMAGE_CACHE_FORMAT = 'malaria-trainer-pixels/1';

const ImageCacheHeaderSchema = z.object({
  format: z.literal(IMAGE_CACHE_FORMAT),
  size: z.number().int().positive(),
  count: z.number().int().nonnegative(),
  source: z.string(),
  pixelsSha256: z.string(),
  /** One byte per image, base64. */
  labels: z.string(),
  files: z.array(z.string()),
});
type ImageCacheHeader = z.infer<typeof ImageCacheHeaderSchema>;

async function readHeader(store: BlobStore, name: string): Promise<ImageCacheHeader | undefined> {
  const raw = await store.read(name);
  if (!raw) return undefined;
  try {
    const parsed = ImageCacheHeaderSchema.safeParse(JSON.parse(Buffer.from(raw).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A cache that cannot be written costs later runs time, not this one its result: warn and go on. */
async function uploadQuietly(store: BlobStore, file: string, name: string, bytes: number, options: DatasetCacheOptions, warn: (m: string) => void) {
  try {
    await transfer(`storing ${name} in ${store.description}`, bytes, options.onProgress, (progress) => store.uploadFrom(file, name, progress));
  } catch (error) {
    warn(`could not store ${name} in ${store.description} (${(error as Error).message}); the next run will download it again`);
  }
}

async function transfer<T>(label: string, total: number, onProgress: ProgressCallback | undefined, run: (progress: ProgressCallback) => Promise<T>): Promise<T> {
  const progress = startProgress({ label, total, unit: 'bytes', onProgress });
  try {
    return await run(progress.update);
  } finally {
    progress.finish();
  }
}

async function sizeOf(file: string): Promise<number | undefined> {
  return (await stat(file).catch(() => undefined))?.size;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
