import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadImages } from '../../../trainer/src/data/load-dataset';
import { patientOf } from '../../../trainer/src/data/split';
import { writeSyntheticDataset } from '../../../trainer/src/data/synthetic';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synthetic-'));
  await writeSyntheticDataset(join(dir, 'a'), { count: 200, seed: 5 });
  await writeSyntheticDataset(join(dir, 'b'), { count: 200, seed: 5 });
  await writeSyntheticDataset(join(dir, 'c'), { count: 200, seed: 6 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function contents(root: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const cls of await readdir(root)) {
    for (const name of await readdir(join(root, cls))) files.set(`${cls}/${name}`, await readFile(join(root, cls, name)));
  }
  return files;
}

test('the same seed writes the same files, byte for byte; another seed writes others', async () => {
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => contents(join(dir, name))));
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [file, bytes] of a) expect(bytes.equals(b.get(file)!)).toBe(true);
  expect([...a.entries()].some(([file, bytes]) => !c.get(file)?.equals(bytes))).toBe(true);
});

test('uses the NIH layout and names: two balanced classes from about twenty patients', async () => {
  const loaded = await loadImages({ kind: 'folder', path: join(dir, 'a'), origin: 'a' }, { size: 16, maxUnreadable: 0, onProgress: () => undefined });
  expect(loaded.images.files).toHaveLength(200);
  expect(loaded.images.labels.reduce((sum, label) => sum + label, 0)).toBe(100);
  for (const file of loaded.images.files) expect(file).toMatch(/^(Parasitized|Uninfected)\/S\d\dP\dthinF_IMG_\d+_cell_\d+\.png$/);
  expect(new Set(loaded.images.files.map(patientOf)).size).toBe(20);
});

test('parasitized cells are told apart at 64 px by their dark purple inclusions', async () => {
  const { images } = await loadImages({ kind: 'folder', path: join(dir, 'c'), origin: 'c' }, { size: 64, maxUnreadable: 0, onProgress: () => undefined });
  const pixels = 64 * 64;
  let correct = 0;
  images.labels.forEach((label, i) => {
    // Dark purple: blue well above green, red low; the black background and pink or pale blotches are not.
    let purple = 0;
    for (let p = i * pixels * 3; p < (i + 1) * pixels * 3; p += 3) {
      const [r, g, b] = [images.pixels[p], images.pixels[p + 1], images.pixels[p + 2]];
      if (r < 150 && g < 90 && b > 90 && b > g + 40) purple++;
    }
    if ((purple >= 3 ? 1 : 0) === label) correct++;
  });
  expect(correct / images.labels.length).toBeGreaterThanOrEqual(0.95);
});
