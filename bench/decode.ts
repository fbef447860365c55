/**
 * Decode-and-resize throughput on synthetic ~130 px cell PNGs (the NIH crops are 40 to 394 px, most
 * near 130): one image at a time, several at once, and the whole loader reading a zip and a folder.
 * Run alone with `npm run bench -- decode`, or with the others through `npm run bench`.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { NIH_DATASET } from '../trainer/src/config';
import { forEachConcurrent } from '../trainer/src/data/concurrency';
import { decodeImage } from '../trainer/src/data/decode';
import { type DataSource, loadImages } from '../trainer/src/data/load-dataset';
import { writeSyntheticDataset } from '../trainer/src/data/synthetic';
import { readTree, writeZip } from '../test/support/image-fixtures';

const NIH_IMAGES = 27_558;

export interface DecodeBenchOptions {
  /** @default 3000 */
  readonly count?: number;
  /** @default 100 (the default --image-size) */
  readonly size?: number;
}

export async function benchDecode(opts: DecodeBenchOptions = {}): Promise<object> {
  const count = opts.count ?? 3000;
  const size = opts.size ?? 100;
  const dir = await mkdtemp(join(tmpdir(), 'bench-decode-'));
  try {
    const folder = join(dir, 'cell_images');
    let started = performance.now();
    await writeSyntheticDataset(folder, { count, seed: 1 });
    const syntheticPerS = count / seconds(started);
    const tree = await readTree(folder, 'cell_images/');
    const pngs = Object.entries(tree).filter(([name]) => name.endsWith('.png')).map(([, bytes]) => bytes);
    const zipPath = join(dir, 'cell_images.zip');
    await writeZip(zipPath, tree);

    started = performance.now();
    for (const png of pngs) await decodeImage(png, size);
    const sequentialPerS = pngs.length / seconds(started);

    started = performance.now();
    await forEachConcurrent(pngs, 16, async (png) => void (await decodeImage(png, size)));
    const concurrentPerS = pngs.length / seconds(started);

    // CPU time per image says what the loader costs even when other work shares the cores.
    const load = async (source: DataSource) => {
      const t = performance.now();
      const cpu = process.cpuUsage();
      const loaded = await loadImages(source, { size, maxUnreadable: 0, onProgress: () => undefined });
      const used = process.cpuUsage(cpu);
      const images = loaded.images.labels.length;
      return { perS: images / seconds(t), cpuMs: (used.user + used.system) / 1000 / images };
    };
    const fromZip = await load({ kind: 'zip', path: zipPath, origin: zipPath });
    const fromFolder = await load({ kind: 'folder', path: folder, origin: folder });
    const zipBytes = (await readFile(zipPath)).length;

    const round = (x: number) => Math.round(x);
    return {
      benchmark: 'decode',
      machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), node: process.version, uvThreadpool: process.env.UV_THREADPOOL_SIZE ?? '4 (default)' },
      images: pngs.length,
      meanPngBytes: round(pngs.reduce((sum, png) => sum + png.length, 0) / pngs.length),
      size,
      imagesPerSecond: {
        decodeResizeSequential: round(sequentialPerS),
        decodeResizeConcurrent: round(concurrentPerS),
        loadFromZip: round(fromZip.perS),
        loadFromFolder: round(fromFolder.perS),
        writeSynthetic: round(syntheticPerS),
      },
      cpuMsPerImage: { loadFromZip: Number(fromZip.cpuMs.toFixed(3)), loadFromFolder: Number(fromFolder.cpuMs.toFixed(3)) },
      // Our PNGs are about as large on a side as the NIH crops, and larger in bytes (noisier).
      estimatedSecondsForNihZip: Number((NIH_IMAGES / fromZip.perS).toFixed(1)),
      // The same if the cores were ours alone and kept busy: CPU time spread over every core.
      estimatedSecondsForNihZipOnIdleCores: Number(((NIH_IMAGES * fromZip.cpuMs) / 1000 / availableParallelism()).toFixed(1)),
      nihMeanPngBytes: round(NIH_DATASET.bytes / NIH_IMAGES),
      zipBytes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
