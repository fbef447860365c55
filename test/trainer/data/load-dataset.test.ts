import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { type DataSource, type LoadOptions, loadImages, resolveDataSource } from '../../../trainer/src/data/load-dataset';
import {
  type ColorTypeName,
  type FileTree,
  corrupted,
  solidPng,
  truncated,
  writeTree,
  writeZip,
} from '../../support/image-fixtures';

/** Each class gets its own colour, so a test can check every image's pixels sit beside its own label. */
const CLASS_COLOR = { Parasitized: [150, 40, 120, 255], Uninfected: [220, 150, 160, 255] } as const;
const KINDS: readonly ColorTypeName[] = ['rgb', 'rgba', 'grey', 'palette', 'greyAlpha'];

/** `perClass` cell PNGs per class under `prefix`, in varied colour types, bit depths and odd sizes, plus Thumbs.db files. */
async function cellTree(prefix: string, perClass: number): Promise<Record<string, Buffer | string>> {
  const tree: Record<string, Buffer | string> = {};
  for (const cls of ['Parasitized', 'Uninfected'] as const) {
    for (let k = 0; k < perClass; k++) {
      const colorType = KINDS[k % KINDS.length];
      // Grey types cannot hold the class colour; grey keeps its red channel, so both classes stay apart.
      tree[`${prefix}${cls}/P${k % 4}_IMG_${k}_cell_${k}.png`] = await solidPng({
        width: 9 + ((k * 13) % 50),
        height: 5 + ((k * 7) % 40),
        colorType,
        bitDepth: k % 3 === 0 && colorType !== 'palette' ? 16 : 8,
        color: CLASS_COLOR[cls],
      });
    }
    tree[`${prefix}${cls}/Thumbs.db`] = 'not an image';
  }
  tree[`${prefix}README.txt`] = 'outside the class folders: ignored';
  return tree;
}

const LOAD: LoadOptions = { size: 12, maxUnreadable: 0.01, onProgress: () => undefined };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'load-dataset-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes the tree as a folder or a zip and returns it as a DataSource. */
async function source(kind: 'folder' | 'zip', tree: FileTree, emptyDirs: readonly string[] = []): Promise<DataSource> {
  const path = join(dir, kind === 'zip' ? 'data.zip' : 'data');
  if (kind === 'zip') await writeZip(path, tree, emptyDirs);
  else await writeTree(path, tree, emptyDirs);
  return { kind, path, origin: path };
}

function redOf(images: { pixels: Uint8Array; size: number }, i: number): number {
  return images.pixels[i * images.size * images.size * 3];
}

describe.each(['folder', 'zip'] as const)('loadImages from a %s', (kind) => {
  test('reads every PNG of any colour type and size, labelled by folder, skipping Thumbs.db', async () => {
    // GIVEN the data set nested two folders deep, as some archives are
    const loaded = await loadImages(await source(kind, await cellTree('downloads/cell_images/', 10)), LOAD);

    expect(loaded.images.files).toHaveLength(20);
    expect(loaded.images.files[0]).toBe('Parasitized/P0_IMG_0_cell_0.png');
    expect([...loaded.images.files]).toEqual([...loaded.images.files].sort());
    expect(loaded.images.pixels).toHaveLength(20 * 12 * 12 * 3);
    expect(loaded.skipped).toEqual({ notPng: 2, unreadable: [] });
    loaded.images.files.forEach((file, i) => {
      const parasitized = file.startsWith('Parasitized/');
      expect(loaded.images.labels[i]).toBe(parasitized ? 1 : 0);
      expect(redOf(loaded.images, i)).toBeCloseTo(parasitized ? 150 : 220, -1);
    });
  });

  test('reads the known label errors listed beside the class folders, only of images it loaded', async () => {
    const tree = await cellTree('cell_images/', 3);
    tree['cell_images/known-label-errors.txt'] = '# checked by two microscopists\nParasitized/P1_IMG_1_cell_1.png\r\n\nUninfected\\P2_IMG_2_cell_2.png  # a note\nUninfected/gone.png\n';
    const loaded = await loadImages(await source(kind, tree), LOAD);
    expect(loaded.knownLabelErrors).toEqual(['Parasitized/P1_IMG_1_cell_1.png', 'Uninfected/P2_IMG_2_cell_2.png']);
    // Outside the class folders, and not an image: no skipped file is counted for it.
    expect(loaded.skipped.notPng).toBe(2);
    expect((await loadImages(await source(kind, await cellTree('', 2)), LOAD)).knownLabelErrors).toEqual([]);
  });

  test('skips and counts corrupt and truncated images, keeping pixels and labels aligned', async () => {
    const tree = await cellTree('', 20);
    tree['Parasitized/P1_IMG_5_cell_5.png'] = corrupted(tree['Parasitized/P1_IMG_5_cell_5.png'] as Buffer);
    tree['Uninfected/P0_IMG_0_cell_0.png'] = truncated(tree['Uninfected/P0_IMG_0_cell_0.png'] as Buffer);

    const loaded = await loadImages(await source(kind, tree), { ...LOAD, maxUnreadable: 0.1 });

    expect(loaded.skipped.unreadable).toEqual(['Parasitized/P1_IMG_5_cell_5.png', 'Uninfected/P0_IMG_0_cell_0.png']);
    expect(loaded.images.files).toHaveLength(38);
    expect(loaded.images.files).not.toContain('Parasitized/P1_IMG_5_cell_5.png');
    loaded.images.files.forEach((file, i) => expect(redOf(loaded.images, i)).toBeCloseTo(file.startsWith('P') ? 150 : 220, -1));
  });

  test('stops when more than the allowed share is unreadable, saying how many and where', async () => {
    const tree = await cellTree('cell_images/', 50);
    tree['cell_images/Parasitized/P1_IMG_1_cell_1.png'] = truncated(tree['cell_images/Parasitized/P1_IMG_1_cell_1.png'] as Buffer);
    tree['cell_images/Uninfected/P2_IMG_2_cell_2.png'] = Buffer.from('garbage');
    const src = await source(kind, tree);

    const failure = loadImages(src, LOAD);

    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toThrow(/2 of 100 images \(2\.0%\) in .*data.* could not be decoded, more than the 1\.0% allowed/);
    await expect(failure).rejects.toThrow('cell_images/Parasitized/P1_IMG_1_cell_1.png');
  });

  test('an empty class folder is a clear error', async () => {
    const tree = Object.fromEntries(Object.entries(await cellTree('', 3)).filter(([path]) => !path.startsWith('Uninfected/')));

    const failure = loadImages(await source(kind, tree, ['Uninfected']), LOAD);

    await expect(failure).rejects.toBeInstanceOf(UserError);
    await expect(failure).rejects.toThrow('Uninfected/ holds no PNG images');
  });

  test('a missing class folder, or none at all, is a clear error', async () => {
    const tree = Object.fromEntries(Object.entries(await cellTree('x/', 3)).filter(([path]) => !path.includes('Uninfected/')));
    await expect(loadImages(await source(kind, tree), LOAD)).rejects.toThrow('x/ has Parasitized/ but no Uninfected/ beside it');

    await rm(join(dir, kind === 'zip' ? 'data.zip' : 'data'), { recursive: true });
    await expect(loadImages(await source(kind, { 'photos/cat.png': 'x' }), LOAD)).rejects.toThrow(
      /holds no Parasitized\/ or Uninfected\/ folder/,
    );
  });

  test('limitPerClass takes that many images of each class, spread over patients', async () => {
    const src = await source(kind, await cellTree('', 12));
    const all = await loadImages(src, LOAD);
    const limited = await loadImages(src, { ...LOAD, limitPerClass: 3 });

    expect(limited.images.files).toHaveLength(6);
    for (const cls of ['Parasitized/', 'Uninfected/']) {
      const files = limited.images.files.filter((file) => file.startsWith(cls));
      expect(new Set(files.map((file) => file.slice(cls.length, cls.length + 2))).size).toBe(3);
    }
    for (const file of limited.images.files) expect(all.images.files).toContain(file);
  });
});

describe('the content digest', () => {
  test('is the same for a folder and its zip, and changes when one image does', async () => {
    const tree = await cellTree('', 4);
    const fromFolder = await loadImages(await source('folder', tree), LOAD);
    const fromZip = await loadImages(await source('zip', { ...tree, 'Parasitized/extra.txt': 'skipped' }), LOAD);
    expect(fromZip.digest).toBe(fromFolder.digest);
    expect(fromFolder.digest).toMatch(/^[0-9a-f]{64}$/);

    const folder = await source('folder', { 'Uninfected/P1_IMG_1_cell_1.png': await solidPng({ width: 10, height: 10 }) });
    const changed = await loadImages(folder, LOAD);
    expect(changed.digest).not.toBe(fromFolder.digest);
  });
});

describe('zip damage', () => {
  test('a cut-off zip is a clear error that says to fetch it again', async () => {
    const src = await source('zip', await cellTree('', 3));
    const bytes = await readFile(src.path);
    await writeFile(src.path, bytes.subarray(0, bytes.length - 40));
    await expect(loadImages(src, LOAD)).rejects.toThrow(/is not a readable zip file .*delete it and run again/);
  });

  test('an entry whose compressed bytes are damaged counts as unreadable', async () => {
    const src = await source('zip', await cellTree('', 5));
    const bytes = await readFile(src.path);
    // The first occurrence of the name is its local header; its compressed data follows right after.
    const at = bytes.indexOf('Uninfected/P2_IMG_2_cell_2.png') + 'Uninfected/P2_IMG_2_cell_2.png'.length;
    bytes.fill(0x55, at + 20, at + 40);
    await writeFile(src.path, bytes);

    const loaded = await loadImages(src, { ...LOAD, maxUnreadable: 0.5 });
    expect(loaded.skipped.unreadable).toEqual(['Uninfected/P2_IMG_2_cell_2.png']);
  });
});

describe('resolveDataSource', () => {
  test('accepts a folder or a zip, and names a missing or unusable path', async () => {
    await writeTree(join(dir, 'cells'), { 'a.txt': 'x' });
    await writeZip(join(dir, 'cells.zip'), { 'a.txt': 'x' });
    await writeFile(join(dir, 'notes.txt'), 'hello');

    await expect(resolveDataSource(join(dir, 'cells'), { seed: 1 })).resolves.toMatchObject({ kind: 'folder' });
    await expect(resolveDataSource(join(dir, 'cells.zip'), { seed: 1 })).resolves.toMatchObject({ kind: 'zip' });
    await expect(resolveDataSource(join(dir, 'nope.zip'), { seed: 1 })).rejects.toThrow(/nope\.zip: no such file or folder/);
    await expect(resolveDataSource(join(dir, 'notes.txt'), { seed: 1 })).rejects.toThrow('neither a zip file nor a folder');
  });

  test('generates synthetic[:N] once into the cache, keyed by N and seed', async () => {
    const first = await resolveDataSource('synthetic:12', { seed: 3, cacheDir: dir });
    expect(first).toMatchObject({ kind: 'folder', origin: 'synthetic:12' });
    const made = (await stat(first.path)).mtimeMs;

    const again = await resolveDataSource('synthetic:12', { seed: 3, cacheDir: dir });
    expect(again.path).toBe(first.path);
    expect((await stat(again.path)).mtimeMs).toBe(made);
    expect((await resolveDataSource('synthetic:12', { seed: 4, cacheDir: dir })).path).not.toBe(first.path);

    const loaded = await loadImages(first, LOAD);
    expect(loaded.images.labels.reduce((a, b) => a + b, 0)).toBe(6);
    await expect(resolveDataSource('synthetic:lots', { seed: 1, cacheDir: dir })).rejects.toThrow(UserError);
  });
});
