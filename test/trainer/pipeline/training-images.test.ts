import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig } from '../../../trainer/src/config';
import { loadSplitImages } from '../../../trainer/src/pipeline/training-images';
import { UserError } from '../../../trainer/src/user-error';
import { corrupted, solidPng, writeTree } from '../../support/image-fixtures';

// Patients P0..P5, two cells of each class each: 24 images.
const FILES = ['Parasitized', 'Uninfected'].flatMap((cls) =>
  Array.from({ length: 12 }, (_, k) => `${cls}/P${k % 6}_IMG_1_cell_${k}.png`));
const byPatient = (...patients: string[]) => FILES.filter((file) => patients.some((p) => file.includes(`/${p}_IMG_`)));

let dir: string;
let lines: string[];
const log = (line: string) => lines.push(line);
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'training-images-'));
  lines = [];
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The data folder, with `broken` written as PNGs that cannot be decoded. */
async function data(broken: readonly string[] = []): Promise<string> {
  const png = await solidPng({ width: 8, height: 8 });
  await writeTree(join(dir, 'data'), Object.fromEntries(FILES.map((file) => [file, broken.includes(file) ? corrupted(png) : png])));
  return join(dir, 'data');
}

async function splitFile(mode: 'patient' | 'cell', parts: { train: string[]; validation: string[]; test: string[] }): Promise<string> {
  const path = join(dir, 'split.json');
  await writeFile(path, JSON.stringify({ mode, seed: 1, fractions: [0.8, 0.1, 0.1], ...parts }));
  return path;
}

const options = (dataDir: string, splitFrom: string) =>
  parseTrainConfig({ data: dataDir, splitFrom, imageSize: 16, maxUnreadable: 0, cacheDir: join(dir, 'cache') });

test('--split-from: images the split leaves out are said with how many and which, and are never decoded', async () => {
  const leftOut = byPatient('P5');
  // Undecodable: with --max-unreadable 0, decoding any of them would stop the run.
  const dataDir = await data(leftOut);
  const split = await splitFile('patient', { train: byPatient('P0', 'P1', 'P2'), validation: byPatient('P3'), test: byPatient('P4') });
  const images = await loadSplitImages(options(dataDir, split), log);
  expect(images.counts).toEqual({ train: 12, validation: 4, test: 4 });
  expect(images.leftOut).toBe(4);
  expect(lines).toContain(`warning: the split (--split-from) leaves out 4 of the data set's 24 images (${[...leftOut].sort().slice(0, 3).join(', ')}, ...); `
    + 'they are not used. Drop --split-from to split all of them.');
  expect(lines.join('\n')).toContain('skipped 0 non-PNG files, 0 unreadable PNGs');
});

test('--split-from: a patient split with a patient in two splits is refused before any image is decoded', async () => {
  // Every image undecodable: the split must be refused before decoding would fail.
  const dataDir = await data(FILES);
  const [moved, ...train] = byPatient('P0', 'P1', 'P2', 'P3');
  const split = await splitFile('patient', { train, validation: byPatient('P4'), test: [...byPatient('P5'), moved] });
  const loading = loadSplitImages(options(dataDir, split), log);
  await expect(loading).rejects.toThrow(UserError);
  await expect(loadSplitImages(options(dataDir, split), log)).rejects.toThrow(
    `${split} says it splits by patient, but 1 of its 6 patients have cells in more than one split (P0 in train and test)`,
  );
});

test('--split-from: a cell split may mix patients, and the run says how many it mixes', async () => {
  const dataDir = await data();
  const [train, validation, test] = [FILES.filter((_, i) => i % 4 < 2), FILES.filter((_, i) => i % 4 === 2), FILES.filter((_, i) => i % 4 === 3)];
  const images = await loadSplitImages(options(dataDir, await splitFile('cell', { train, validation, test })), log);
  expect(images.sharedPatients).toBe(6);
  expect(lines).toContain('split by cell: 12 train, 6 validation, 6 test images; 6 patients have cells in more than one split');
});
