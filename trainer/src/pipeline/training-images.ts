import { createHash } from 'node:crypto';
import { NIH_DATASET, type TrainConfig } from '../config';
import { cachedDatasetZip, loadCachedImages, saveCachedImages } from '../cloud/dataset-cache';
import { applyLabelEdits, describeLabelEdits, readLabelEdits } from '../data/label-edits';
import { listImages, loadImages, resolveDataSource, type LoadedImages, type LoadOptions } from '../data/load-dataset';
import { readHoldout } from '../data/holdout';
import {
  applySplit, checkSplitCoverage, leftOutWarning, makeFoldSplit, makeHoldoutSplit, makeSplit, patientsInSeveralSplits, readSplit, splitDigest,
} from '../data/split';
import type { LabeledImages, Split, SplitName } from '../data/types';
import { splitComposition, type SplitComposition } from '../evaluate/patients';

/** Bump when decoding changes, so decoded-image caches written by older trainers are ignored. */
const DECODER_VERSION = 'napi-rs-image-1';

/**
 * The images a run trains on (`selectFiles` may narrow them before any is decoded). With `--dataset-cache` (cloud runs on the NIH data) the zip comes
 * from the bucket, and so do its decoded pixels when an earlier run stored them for this size.
 */
export async function loadTrainingImages(
  config: TrainConfig, log: (line: string) => void, selectFiles?: LoadOptions['selectFiles'],
): Promise<LoadedImages> {
  const loadOptions = { size: config.imageSize, limitPerClass: config.limit, maxUnreadable: config.maxUnreadable, selectFiles };
  if (!config.datasetCache || config.data !== NIH_DATASET.url) {
    if (config.datasetCache) log(`--dataset-cache applies to the NIH data set only; reading ${config.data} directly`);
    const source = await resolveDataSource(config.data, { cacheDir: config.cacheDir, seed: config.seed });
    return loadImages(source, loadOptions);
  }
  const prefix = config.datasetCache;
  const cacheKey = [NIH_DATASET.sha256, DECODER_VERSION, `limit=${config.limit ?? 'all'}`].join(':');
  const cached = await loadCachedImages(prefix, config.imageSize, { source: cacheKey });
  if (cached) {
    log(`images: decoded ${config.imageSize} px pixels from ${prefix}`);
    selectFiles?.(cached.files);
    // The digest of the files read is that of the verified zip they were decoded from.
    const digest = createHash('sha256').update(cacheKey).digest('hex');
    return { images: cached, skipped: { notPng: 0, unreadable: [] }, digest, source: NIH_DATASET.url, knownLabelErrors: [] };
  }
  const zip = await cachedDatasetZip(prefix, { cacheDir: config.cacheDir });
  // The cache keeps every image, so every image is decoded, after the split has been checked.
  const checkOnly = selectFiles && ((files: readonly string[]) => {
    selectFiles(files);
    return new Set(files);
  });
  const loaded = await loadImages({ kind: 'zip', path: zip, origin: NIH_DATASET.url }, { ...loadOptions, selectFiles: checkOnly });
  await saveCachedImages(prefix, config.imageSize, loaded.images, { source: cacheKey }).catch((error: Error) =>
    log(`warning: could not store decoded images in ${prefix}: ${error.message}`));
  return loaded;
}

/**
 * The files and labels a run will read, listed without decoding them, to plan on; undefined for
 * the NIH data through `--dataset-cache` (read from the bucket's decoded copy: its 201 patients are
 * plenty for any plan).
 */
export async function listTrainingImages(config: TrainConfig): Promise<Awaited<ReturnType<typeof listImages>> | undefined> {
  if (config.datasetCache && config.data === NIH_DATASET.url) return undefined;
  const source = await resolveDataSource(config.data, { cacheDir: config.cacheDir, seed: config.seed });
  return listImages(source, { limitPerClass: config.limit });
}

export interface SplitImages {
  readonly parts: Record<SplitName, LabeledImages>;
  readonly split: Split;
  readonly splitDigest: string;
  readonly counts: { train: number; validation: number; test: number };
  /** Images and patients per class in each split, for the report. */
  readonly composition: Record<SplitName, SplitComposition>;
  /** Patients with cells in more than one split: 0 in a patient split, counted for the report in a cell split. */
  readonly sharedPatients: number;
  /** Images of the data set that a reused split (`--split-from`) leaves out, unused. */
  readonly leftOut: number;
  /** LoadedImages.digest and .source: what the run records about its data. */
  readonly digest: string;
  readonly source: string;
  /** LoadedImages.knownLabelErrors: cells the data set says are filed under the wrong class. */
  readonly knownLabelErrors: ReadonlySet<string>;
}

/**
 * The run's images, split (or split as an earlier run did, with `--split-from`). Only the split
 * copies outlive this call, so the full set's pixels can be freed before training starts.
 */
export async function loadSplitImages(config: TrainConfig, log: (line: string) => void): Promise<SplitImages> {
  const reused = config.splitFrom ? readSplit(config.splitFrom) : undefined;
  let leftOut = 0;
  const edits = readLabelEdits(config);
  const read = await loadTrainingImages(config, log, reused && ((available) => {
    const coverage = checkSplitCoverage(reused, available);
    const warning = leftOutWarning(coverage.leftOut, available.length);
    if (warning) log(warning);
    leftOut = coverage.leftOut.length;
    return coverage.files;
  }));
  log(`images: ${read.images.labels.length} at ${config.imageSize} px from ${read.source}`
    + ` (skipped ${read.skipped.notPng} non-PNG files, ${read.skipped.unreadable.length} unreadable PNGs)`);
  const loaded = edits ? applyLabelEdits(read, edits) : read;
  if (edits) log(`label edits: ${describeLabelEdits(edits)}`);
  const { files, labels } = loaded.images;
  const options = { mode: config.split, seed: config.seed, fractions: config.splitFractions };
  const fold = config.cv && config.cvFold ? { folds: config.cv, fold: config.cvFold } : undefined;
  const split = reused
    ?? (config.holdout
      ? makeHoldoutSplit(files, labels, readHoldout(config.holdout), { ...options, ...fold })
      : fold
        ? makeFoldSplit(files, labels, { ...options, ...fold })
        : makeSplit(files, labels, options));
  const parts = applySplit(loaded.images, split);
  const counts = { train: parts.train.labels.length, validation: parts.validation.labels.length, test: parts.test.labels.length };
  const which = split.fold ? `, fold ${split.fold.fold} of ${split.fold.folds}` : '';
  const held = split.holdout ? (split.fold ? `; ${split.holdout.length} held-out patients left out` : ` (the ${split.holdout.length} held-out patients)`) : '';
  const sharedPatients = patientsInSeveralSplits(split).length;
  const sharing = split.mode === 'cell' ? `; ${sharedPatients} patients have cells in more than one split` : '';
  log(`split by ${split.mode}${which}: ${counts.train} train, ${counts.validation} validation, ${counts.test} test images${held}${sharing}`);
  const composition = {
    train: splitComposition(parts.train.labels, parts.train.files),
    validation: splitComposition(parts.validation.labels, parts.validation.files),
    test: splitComposition(parts.test.labels, parts.test.files),
  };
  return {
    parts, split, splitDigest: splitDigest(split), counts, composition, sharedPatients, leftOut, digest: loaded.digest, source: loaded.source,
    knownLabelErrors: new Set(loaded.knownLabelErrors),
  };
}
