import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ZipFile } from 'yazl';
import { PngColorType, encodePng } from '../../trainer/src/data/png-encode';

export type ColorTypeName = keyof typeof PngColorType;

export interface SolidPngOptions {
  readonly width: number;
  readonly height: number;
  /** @default 'rgb' */
  readonly colorType?: ColorTypeName;
  /** @default 8 */
  readonly bitDepth?: 8 | 16;
  /** 8-bit RGBA; grey types use the red channel, types without alpha ignore alpha. @default [200, 120, 150, 255] */
  readonly color?: readonly [number, number, number, number];
}

/**
 * A PNG of one colour in the requested colour type and bit depth, so a test knows exactly which RGB
 * value decoding must give (16-bit samples are the 8-bit value times 257, as a converter would write).
 */
export async function solidPng(opts: SolidPngOptions): Promise<Buffer> {
  const [r, g, b, a] = opts.color ?? [200, 120, 150, 255];
  const colorType = PngColorType[opts.colorType ?? 'rgb'];
  const bitDepth = opts.bitDepth ?? 8;
  const samples: Record<PngColorType, number[]> = { 0: [r], 2: [r, g, b], 3: [1], 4: [r, a], 6: [r, g, b, a] };
  const pixel = samples[colorType].flatMap((v) => (bitDepth === 16 ? [v, v] : [v]));
  const data = new Uint8Array(opts.width * opts.height * pixel.length);
  for (let i = 0; i < data.length; i++) data[i] = pixel[i % pixel.length];
  const palette = colorType === PngColorType.palette ? Uint8Array.of(0, 0, 0, r, g, b) : undefined;
  return encodePng({ width: opts.width, height: opts.height, colorType, bitDepth, data, palette });
}

/** The first `fraction` of the bytes, like a file cut off by a failed copy. */
export function truncated(bytes: Uint8Array, fraction = 0.5): Buffer {
  return Buffer.from(bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

/** Same length, with the compressed image data overwritten: the PNG checksums no longer match. */
export function corrupted(bytes: Uint8Array): Buffer {
  const out = Buffer.from(bytes);
  const idat = out.indexOf('IDAT');
  out.fill(0xa5, idat + 4, Math.min(out.length - 12, idat + 24));
  return out;
}

/** File path (`/`-separated) to contents. */
export type FileTree = Readonly<Record<string, Uint8Array | string>>;

/** Writes the files under `root`, creating folders; `emptyDirs` are created with nothing in them. */
export async function writeTree(root: string, files: FileTree, emptyDirs: readonly string[] = []): Promise<void> {
  for (const dir of emptyDirs) await mkdir(join(root, dir), { recursive: true });
  for (const [path, contents] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), contents);
  }
}

/** Writes a zip of the files (deflated, as zip tools do by default); `emptyDirs` get folder entries. */
export async function writeZip(path: string, files: FileTree, emptyDirs: readonly string[] = []): Promise<void> {
  const zip = new ZipFile();
  for (const dir of emptyDirs) zip.addEmptyDirectory(dir);
  for (const [name, contents] of Object.entries(files)) {
    zip.addBuffer(Buffer.from(contents), name, { compress: true, mtime: new Date(0) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Buffer.concat(chunks));
}

/** Every file under `root`, keyed by its path below `prefix` (e.g. `cell_images/`), to zip a folder. */
export async function readTree(root: string, prefix = ''): Promise<Record<string, Buffer>> {
  const tree: Record<string, Buffer> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    tree[prefix + relative(root, path).split(sep).join('/')] = await readFile(path);
  }
  return tree;
}
