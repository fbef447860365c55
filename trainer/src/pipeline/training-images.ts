import { createHash } from 'node:crypto';
import { NIH_DATASET, type TrainConfig } from '../config';
import { cachedDatasetZip, loadCachedImages, saveCachedImages } from '../cloud/dataset-cache';
import { loadImages, resolveDataSource, type LoadedImages } from '../data/load-dataset';

/** Bump when decoding changes, so decoded-image caches written by older trainers are ignored. */
const DECODER_VERSION = 'napi-rs-image-1';

/**
 * The images a run trains on. With `--dataset-cache` (cloud runs on the NIH data) the zip comes
 * from the bucket, and so do its decoded pixels when an earlier run stored them for this size.
 */
export async function loadTrainingImages(config: TrainConfig, log: (line: string) => void): Promise<LoadedImages> {
  const loadOptions = { size: config.imageSize, limitPerClass: config.limit, maxUnreadable: config.maxUnreadable };
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
    // The digest of the files read is that of the verified zip they were decoded from.
    const digest = createHash('sha256').update(cacheKey).digest('hex');
    return { images: cached, skipped: { notPng: 0, unreadable: [] }, digest, source: NIH_DATASET.url };
  }
  const zip = await cachedDatasetZip(prefix, { cacheDir: config.cacheDir });
  const loaded = await loadImages({ kind: 'zip', path: zip, origin: NIH_DATASET.url }, loadOptions);
  await saveCachedImages(prefix, config.imageSize, loaded.images, { source: cacheKey }).catch((error: Error) =>
    log(`warning: could not store decoded images in ${prefix}: ${error.message}`));
  return loaded;
}
