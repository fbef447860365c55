import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_ERRORS_FILE } from '../../../trainer/src/data/label-errors';
import { loadImages } from '../../../trainer/src/data/load-dataset';
import { patientOf } from '../../../trainer/src/data/split';
import { planSyntheticCells, WRONG_LABEL_SHARE, writeSyntheticDataset } from '../../../trainer/src/data/synthetic';
import type { LabeledImages } from '../../../trainer/src/data/types';

let dir: string;
const progress: [number, number][] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthetic-'));
  await writeSyntheticDataset(join(dir, 'a'), { count: 200, seed: 5, onProgress: (done, total) => progress.push([done, total]) });
  await writeSyntheticDataset(join(dir, 'b'), { count: 200, seed: 5 });
  await writeSyntheticDataset(join(dir, 'c'), { count: 400, seed: 6 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function contents(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(root.length + 1), await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

const load = (name: string, size: number) =>
  loadImages({ kind: 'folder', path: join(dir, name), origin: name }, { size, maxUnreadable: 0, onProgress: () => undefined });

test('the same seed writes the same files, byte for byte; another seed writes others', async () => {
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => contents(join(dir, name))));
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [file, bytes] of a) expect(bytes.equals(b.get(file)!)).toBe(true);
  expect([...a.entries()].some(([file, bytes]) => !c.get(file)?.equals(bytes))).toBe(true);
});

test('reports progress once per image written, up to the total', () => {
  expect(progress).toHaveLength(200);
  expect(progress.at(-1)).toEqual([200, 200]);
});

test('uses the NIH layout and names: two balanced classes from up to fifty patients', async () => {
  const { images } = await load('a', 16);
  expect(images.files).toHaveLength(200);
  expect(images.labels.reduce((sum, label) => sum + label, 0)).toBe(100);
  for (const file of images.files) expect(file).toMatch(/^(Parasitized|Uninfected)\/S\d\dP\dthinF_IMG_\d+_cell_\d+\.png$/);
  expect(new Set(images.files.map(patientOf)).size).toBe(50);
});

test('files a small share of the cells under the wrong class, in both classes', () => {
  const cells = planSyntheticCells({ count: 4000, seed: 1 });
  const wrong = cells.filter((cell) => (cell.label === 1) !== cell.parasitized);
  expect(wrong.length / cells.length).toBeGreaterThan(WRONG_LABEL_SHARE * 0.7);
  expect(wrong.length / cells.length).toBeLessThan(WRONG_LABEL_SHARE * 1.3);
  expect(new Set(wrong.map((cell) => cell.label))).toEqual(new Set([0, 1]));
  expect(planSyntheticCells({ count: 4000, seed: 1 }).map((cell) => cell.file)).toEqual(cells.map((cell) => cell.file));
});

test('lists the wrongly filed cells beside the class folders, and loading the set reads the list', async () => {
  const wrong = planSyntheticCells({ count: 200, seed: 5 }).filter((cell) => (cell.label === 1) !== cell.parasitized).map((cell) => cell.file);
  expect(wrong.length).toBeGreaterThan(0);
  const text = await readFile(join(dir, 'a', LABEL_ERRORS_FILE), 'utf8');
  expect(text).toMatch(/^# Synthetic cells filed under the wrong class on purpose/);
  const { knownLabelErrors } = await load('a', 16);
  expect(knownLabelErrors).toEqual([...wrong].sort());
});

/** Per image: the share of dark purple pixels (blue well above green, red low), which only inclusions and debris have. */
function purpleShares(images: LabeledImages): number[] {
  const pixels = images.size * images.size;
  return Array.from(images.labels, (_, i) => {
    let purple = 0;
    for (let p = i * pixels * 3; p < (i + 1) * pixels * 3; p += 3) {
      const [r, g, b] = [images.pixels[p], images.pixels[p + 1], images.pixels[p + 2]];
      if (r < 150 && g < 90 && b > 90 && b > g + 40) purple++;
    }
    return purple / pixels;
  });
}

test('no simple colour rule separates the classes, yet the parasites are there to learn', async () => {
  const { images } = await load('c', 64);
  const shares = purpleShares(images);
  // The best threshold on the share of dark purple pixels, chosen on these very images (an optimistic rule).
  let best = 0;
  for (const cut of [...new Set(shares)]) {
    const correct = shares.filter((share, i) => (share >= cut ? 1 : 0) === images.labels[i]).length;
    best = Math.max(best, correct / shares.length);
  }
  // The first synthetic cells were separated by counting three such pixels; these are not.
  expect(best).toBeLessThan(0.9);
  expect(best).toBeGreaterThan(0.7);
});

test('stain and brightness vary between patients more than within one', async () => {
  const { images } = await load('c', 32);
  const pixels = images.size * images.size;
  const byPatient = new Map<string, number[]>();
  images.files.forEach((file, i) => {
    let sum = 0;
    for (let p = i * pixels * 3; p < (i + 1) * pixels * 3; p += 3) sum += images.pixels[p];
    byPatient.set(patientOf(file), [...(byPatient.get(patientOf(file)) ?? []), sum / pixels]);
  });
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  const variance = (values: number[]) => mean(values.map((v) => (v - mean(values)) ** 2));
  const groups = [...byPatient.values()].filter((values) => values.length >= 4);
  const between = variance(groups.map(mean));
  const within = mean(groups.map(variance));
  // Red-channel means: a patient's cells look alike, and patients differ.
  expect(between / (within / mean(groups.map((g) => g.length)))).toBeGreaterThan(5);
});
