import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { NIH_DATASET } from '../config';
import { UserError } from '../user-error';
import { type Archive, openFolder } from './archive';
import { defaultCacheDir } from './cache-dir';
import { forEachConcurrent } from './concurrency';
import { type DatasetImage, locateDataset } from './dataset-layout';
import { ImageDecodeError, decodeImageInto } from './decode';
import { fetchToCache } from './download';
import { parseLabelErrors } from './label-errors';
import { type ProgressCallback, startProgress } from './progress';
import { writeSyntheticDataset } from './synthetic';
import type { LabeledImages } from './types';
import { ZipEntryError, openZip } from './zip-archive';

/** Where the images are, once `--data` has been resolved (downloaded or generated when needed). */
export interface DataSource {
  readonly kind: 'zip' | 'folder';
  /** Absolute path of the zip or folder. */
  readonly path: string;
  /** What the user asked for (URL, path or `synthetic:N`), for logs and the run record. */
  readonly origin: string;
}

export interface ResolveOptions {
  /** @default defaultCacheDir() */
  readonly cacheDir?: string;
  /** Seed of a synthetic set. */
  readonly seed: number;
  /** Download or generation progress; without it a bar (terminal) or log lines go to stderr. */
  readonly onProgress?: ProgressCallback;
}

export const DEFAULT_SYNTHETIC_COUNT = 2000;
/** Bump when the synthetic generator changes, so cached sets are regenerated. */
const SYNTHETIC_VERSION = 3;
const COMPLETE_MARKER = '.complete';

/**
 * Turns a `--data` value into a zip or folder on disk: an http(s) URL is downloaded into the cache
 * (the NIH URL is checked against its known size and SHA-256); `synthetic[:N]` is generated once into
 * the cache, keyed by N and seed; anything else must be a local zip or folder.
 */
export async function resolveDataSource(spec: string, opts: ResolveOptions): Promise<DataSource> {
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const count = syntheticCount(spec);
  if (count !== undefined) return syntheticSource(spec, count, cacheDir, opts.seed, opts.onProgress);
  if (/^https?:\/\//i.test(spec)) {
    const expected = spec === NIH_DATASET.url ? { bytes: NIH_DATASET.bytes, sha256: NIH_DATASET.sha256 } : undefined;
    const path = await fetchToCache(spec, { cacheDir, expected, onProgress: opts.onProgress });
    return { kind: 'zip', path, origin: spec };
  }
  const path = resolve(spec);
  const info = await stat(path).catch(() => undefined);
  if (!info) {
    throw new UserError(`--data ${spec}: no such file or folder. Give the NIH zip URL, a local .zip, a folder with Parasitized/ and Uninfected/, or synthetic[:N].`);
  }
  if (info.isDirectory()) return { kind: 'folder', path, origin: path };
  if (await isZip(path)) return { kind: 'zip', path, origin: path };
  throw new UserError(`--data ${spec} is neither a zip file nor a folder`);
}

const SYNTHETIC_SPEC = /^synthetic(?::(.*))?$/;

/** The image count of a `--data synthetic[:N]` set (its seed is the run's `--seed`); undefined for other data. */
function syntheticCount(spec: string): number | undefined {
  const synthetic = SYNTHETIC_SPEC.exec(spec);
  if (!synthetic) return undefined;
  return synthetic[1] === undefined ? DEFAULT_SYNTHETIC_COUNT : Number(synthetic[1]);
}

async function syntheticSource(
  spec: string, count: number, cacheDir: string, seed: number, onProgress?: ProgressCallback,
): Promise<DataSource> {
  if (!Number.isInteger(count) || count < 10) {
    throw new UserError(`--data ${spec}: the image count must be a whole number of at least 10, e.g. synthetic:2000`);
  }
  const origin = `synthetic:${count}`;
  const dir = join(cacheDir, `synthetic-v${SYNTHETIC_VERSION}-n${count}-seed${seed}`);
  if (existsSync(join(dir, COMPLETE_MARKER))) return { kind: 'folder', path: dir, origin };
  // Generate beside the final folder and rename, so an interrupted run never leaves a partial set behind.
  const scratch = `${dir}.tmp-${process.pid}`;
  process.stderr.write(`generating ${count} synthetic images (seed ${seed}) into ${dir}\n`);
  await rm(scratch, { recursive: true, force: true });
  const progress = startProgress({ label: 'generating synthetic images', total: count, unit: 'images', onProgress });
  await writeSyntheticDataset(scratch, { count, seed, onProgress: (done) => progress.update(done) });
  progress.finish();
  await writeFile(join(scratch, COMPLETE_MARKER), '');
  await rm(dir, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  await rename(scratch, dir).catch(async (err) => {
    // Another process finished the same set first: theirs is identical, use it.
    await rm(scratch, { recursive: true, force: true });
    if (!existsSync(join(dir, COMPLETE_MARKER))) throw err;
  });
  return { kind: 'folder', path: dir, origin };
}

async function isZip(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(4), 0, 4, 0);
    return bytesRead === 4 && buffer.readUInt32LE(0) === 0x04034b50;
  } finally {
    await file.close();
  }
}

export interface LoadOptions {
  /** Side of the square the images are resized to. */
  readonly size: number;
  /** Use at most this many images per class, spread evenly over the sorted file list (so over all patients). */
  readonly limitPerClass?: number;
  /** Fraction (0 to 1) of unreadable PNGs above which loading fails. */
  readonly maxUnreadable: number;
  /** Decoding progress; without it a bar (terminal) or log lines go to stderr. */
  readonly onProgress?: ProgressCallback;
  /**
   * Given the files chosen (after `limitPerClass`) before any is decoded, returns those to decode:
   * a reused split checks itself against the data set here, and a report reads only the few cells
   * it shows; the rest stay undecoded.
   */
  readonly selectFiles?: (files: readonly string[]) => ReadonlySet<string>;
}

export interface LoadedImages {
  /** In file order (sorted), unreadable images left out. */
  readonly images: LabeledImages;
  readonly skipped: {
    /** Files in the class folders that are not PNGs (Thumbs.db and the like). */
    readonly notPng: number;
    /** PNGs that could not be decoded, by path inside the source, sorted. */
    readonly unreadable: string[];
  };
  /**
   * SHA-256 (hex) over the file name, label and bytes of every image used, in order: it changes when
   * any image file does, and does not depend on the decode size.
   */
  readonly digest: string;
  /** DataSource.origin. */
  readonly source: string;
  /** Images (as in `images.files`) that the data set's LABEL_ERRORS_FILE says are filed under the wrong class. */
  readonly knownLabelErrors: readonly string[];
}

/** Files read and decoded at once: enough to keep libuv's thread pool (inflate, decode) busy. */
const IN_FLIGHT = Math.max(16, availableParallelism() * 4);
const EXAMPLES = 5;

/**
 * Reads every PNG of both classes from the zip (without extracting it) or folder, decoding several at
 * a time, into one uint8 RGB buffer. Unreadable images are skipped and counted; more than
 * `maxUnreadable` of them is a UserError naming how many, and some of them.
 */
export async function loadImages(source: DataSource, opts: LoadOptions): Promise<LoadedImages> {
  const archive = await openSource(source);
  try {
    const layout = locateDataset(archive.files, archive.dirs, source.path);
    const limited = chooseImages(layout.images, opts.limitPerClass);
    const selected = opts.selectFiles?.(limited.map((image) => image.file));
    const chosen = selected ? limited.filter((image) => selected.has(image.file)) : limited;
    const imageBytes = opts.size * opts.size * 3;
    const pixels = allocatePixels(chosen.length, opts.size);
    const readable = new Uint8Array(chosen.length);
    const fileHashes = Buffer.alloc(chosen.length * 32);
    const unreadable: string[] = [];
    const progress = startProgress({ label: 'decoding images', total: chosen.length, unit: 'images', onProgress: opts.onProgress });
    let done = 0;
    try {
      await forEachConcurrent(chosen, IN_FLIGHT, async (image, i) => {
        try {
          const bytes = await archive.read(image.location);
          createHash('sha256').update(bytes).digest().copy(fileHashes, i * 32);
          await decodeImageInto(bytes, opts.size, pixels, i * imageBytes);
          readable[i] = 1;
        } catch (err) {
          if (!(err instanceof ImageDecodeError || err instanceof ZipEntryError)) throw err;
          unreadable.push(image.location);
        }
        progress.update(++done);
      });
    } finally {
      progress.finish();
    }
    unreadable.sort();
    checkUnreadable(unreadable, chosen.length, opts.maxUnreadable, source.path);

    // Close the gaps left by unreadable images, in place: the buffer may be most of the memory we use.
    const files: string[] = [];
    const labels = new Uint8Array(chosen.length - unreadable.length);
    const digest = createHash('sha256');
    for (let i = 0; i < chosen.length; i++) {
      if (!readable[i]) continue;
      const k = files.length;
      if (k !== i) pixels.copyWithin(k * imageBytes, i * imageBytes, (i + 1) * imageBytes);
      files.push(chosen[i].file);
      labels[k] = chosen[i].label;
      digest.update(`${chosen[i].file}\n${chosen[i].label}\n`).update(fileHashes.subarray(i * 32, (i + 1) * 32));
    }
    return {
      images: { size: opts.size, pixels: pixels.subarray(0, files.length * imageBytes), labels, files },
      skipped: { notPng: layout.notPng, unreadable },
      digest: digest.digest('hex'),
      source: source.origin,
      knownLabelErrors: await knownLabelErrors(archive, layout, files),
    };
  } finally {
    archive.close();
  }
}

/**
 * The files and labels loadImages would read, without reading a byte of them (a zip's directory, a
 * folder's listing): enough to plan on, such as the folds of a cross-validation.
 */
export async function listImages(
  source: DataSource, opts: Pick<LoadOptions, 'limitPerClass'>,
): Promise<{ files: string[]; labels: number[] } & Pick<LoadedImages, 'knownLabelErrors'>> {
  const archive = await openSource(source);
  try {
    const layout = locateDataset(archive.files, archive.dirs, source.path);
    const chosen = chooseImages(layout.images, opts.limitPerClass);
    const files = chosen.map((image) => image.file);
    return { files, labels: chosen.map((image) => image.label), knownLabelErrors: await knownLabelErrors(archive, layout, files) };
  } finally {
    archive.close();
  }
}

/** The images among `files` that the data set's LABEL_ERRORS_FILE lists as filed under the wrong class. */
async function knownLabelErrors(archive: Archive, layout: ReturnType<typeof locateDataset>, files: readonly string[]): Promise<string[]> {
  if (layout.labelErrors === undefined) return [];
  const among = new Set(files);
  return parseLabelErrors(Buffer.from(await archive.read(layout.labelErrors)).toString('utf8')).filter((file) => among.has(file));
}

function openSource(source: DataSource): Promise<Archive> {
  return source.kind === 'zip' ? openZip(source.path) : openFolder(source.path);
}

function chooseImages(images: readonly DatasetImage[], limitPerClass: number | undefined): readonly DatasetImage[] {
  return limitPerClass === undefined ? images : spreadPerClass(images, limitPerClass);
}

/** Evenly spaced picks from each class's sorted list, so a small limit still spans all patients. */
function spreadPerClass(images: readonly DatasetImage[], limit: number): DatasetImage[] {
  const picked: DatasetImage[] = [];
  for (const label of [0, 1]) {
    const ofClass = images.filter((image) => image.label === label);
    const take = Math.min(limit, ofClass.length);
    for (let i = 0; i < take; i++) picked.push(ofClass[Math.floor((i * ofClass.length) / take)]);
  }
  return picked.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

function allocatePixels(count: number, size: number): Uint8Array {
  const bytes = count * size * size * 3;
  try {
    return new Uint8Array(bytes);
  } catch {
    throw new UserError(
      `${count} images at ${size}x${size} need ${(bytes / 1e9).toFixed(1)} GB in one buffer, more than can be allocated; ` +
        `lower --image-size or use --limit`,
    );
  }
}

function checkUnreadable(unreadable: readonly string[], total: number, maxFraction: number, where: string): void {
  if (unreadable.length <= maxFraction * total) return;
  const percent = (x: number) => `${(100 * x).toFixed(x < 0.01 ? 2 : 1)}%`;
  const examples = unreadable.slice(0, EXAMPLES).map((file) => `\n  ${file}`).join('');
  const more = unreadable.length > EXAMPLES ? `\n  ... and ${unreadable.length - EXAMPLES} more` : '';
  throw new UserError(
    `${unreadable.length} of ${total} images (${percent(unreadable.length / total)}) in ${where} could not be decoded, ` +
      `more than the ${percent(maxFraction)} allowed (--max-unreadable):${examples}${more}\n` +
      `The data may be damaged or cut off: replace it (delete a downloaded copy to fetch it again), or raise --max-unreadable.`,
  );
}
