import { createHash } from 'node:crypto';
import { NIH_DATASET, type TrainConfig } from '../config';
import { cachedDatasetZip, loadCachedImages, saveCachedImages } from '../cloud/dataset-cache';
import { applyLabelEdits, describeLabelEdits, readLabelEdits } from '../data/label-edits';
import { loadImages, resolveDataSource, type LoadedImages } from '../data/load-dataset';
import { applySplit, makeFoldSplit, makeSplit, readSplit, splitDigest } from '../data/split';
import type { LabeledImages, Split, SplitName } from '../data/types';
import { splitComposition, type SplitComposition } from '../evaluate/patients';

/** Bump when decoding changes, so decoded-image caches written by older trainers are ignored. */
const DECODER_VERSION = 'napi-rs-image-1';

/**
 * The images a run trains on (or only those named in `only`). With `--dataset-cache` (cloud runs on the NIH data) the zip comes
 * from the bucket, and so do its decoded pixels when an earlier run stored them for this size.
 */
export async function loadTrainingImages(
  config: TrainConfig, log: (line: string) => void, only?: ReadonlySet<string>,
): Promise<LoadedImages> {
  const loadOptions = { size: config.imageSize, limitPerClass: only ? undefined : config.limit, maxUnreadable: config.maxUnreadable, only };
  if (!config.datasetCache || config.data !== NIH_DATASET.url) {
    if (config.datasetCache) log(`--dataset-cache applies to the NIH data set only; reading ${config.data} directly`);
    const source = await resolveDataSource(config.data, { cacheDir: config.cacheDir, seed: config.seed });
    return loadImages(source, loadOptions);
  }
  const prefix = config.datasetCache;
  const cacheKey = [NIH_DATASET.sha256, DECODER_VERSION, `limit=${config.limit ?? 'all'}`].join(':');
  // A few images (`only`) are read from the zip: the decoded cache holds them all.
  const cached = only ? undefined : await loadCachedImages(prefix, config.imageSize, { source: cacheKey });
  if (cached) {
    log(`images: decoded ${config.imageSize} px pixels from ${prefix}`);
    // The digest of the files read is that of the verified zip they were decoded from.
    const digest = createHash('sha256').update(cacheKey).digest('hex');
    return { images: cached, skipped: { notPng: 0, unreadable: [] }, digest, source: NIH_DATASET.url };
  }
  const zip = await cachedDatasetZip(prefix, { cacheDir: config.cacheDir });
  const loaded = await loadImages({ kind: 'zip', path: zip, origin: NIH_DATASET.url }, loadOptions);
  if (!only) {
    await saveCachedImages(prefix, config.imageSize, loaded.images, { source: cacheKey }).catch((error: Error) =>
      log(`warning: could not store decoded images in ${prefix}: ${error.message}`));
  }
  return loaded;
}

export interface SplitImages {
  readonly parts: Record<SplitName, LabeledImages>;
  readonly split: Split;
  readonly splitDigest: string;
  readonly counts: { train: number; validation: number; test: number };
  /** Images and patients per class in each split, for the report. */
  readonly composition: Record<SplitName, SplitComposition>;
  /** LoadedImages.digest and .source: what the run records about its data. */
  readonly digest: string;
  readonly source: string;
}

/**
 * The run's images, split (or split as an earlier run did, with `--split-from`). Only the split
 * copies outlive this call, so the full set's pixels can be freed before training starts.
 */
export async function loadSplitImages(config: TrainConfig, log: (line: string) => void): Promise<SplitImages> {
  const edits = readLabelEdits(config);
  const read = await loadTrainingImages(config, log);
  log(`images: ${read.images.labels.length} at ${config.imageSize} px from ${read.source}`
    + ` (skipped ${read.skipped.notPng} non-PNG files, ${read.skipped.unreadable.length} unreadable PNGs)`);
  const loaded = edits ? applyLabelEdits(read, edits) : read;
  if (edits) log(`label edits: ${describeLabelEdits(edits)}`);
  const { files, labels } = loaded.images;
  const options = { mode: config.split, seed: config.seed, fractions: config.splitFractions };
  const split = config.splitFrom
    ? readSplit(config.splitFrom)
    : config.cv && config.cvFold
      ? makeFoldSplit(files, labels, { ...options, folds: config.cv, fold: config.cvFold })
      : makeSplit(files, labels, options);
  const parts = applySplit(loaded.images, split);
  const counts = { train: parts.train.labels.length, validation: parts.validation.labels.length, test: parts.test.labels.length };
  const fold = split.fold ? `, fold ${split.fold.fold} of ${split.fold.folds}` : '';
  log(`split by ${split.mode}${fold}: ${counts.train} train, ${counts.validation} validation, ${counts.test} test images`);
  const composition = {
    train: splitComposition(parts.train.labels, parts.train.files),
    validation: splitComposition(parts.validation.labels, parts.validation.files),
    test: splitComposition(parts.test.labels, parts.test.files),
  };
  return { parts, split, splitDigest: splitDigest(split), counts, composition, digest: loaded.digest, source: loaded.source };
}
