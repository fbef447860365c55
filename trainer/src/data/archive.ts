import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** A zip or a folder, seen the same way: its file list, and a reader for one file at a time. */
export interface Archive {
  /** Paths of the files, relative to the archive's top, `/`-separated. */
  readonly files: readonly string[];
  /** Folders listed explicitly (an empty folder shows up only here). */
  readonly dirs: readonly string[];
  read(path: string): Promise<Uint8Array>;
  close(): void;
}

/** Lists a folder recursively (symbolic links are not followed) and reads its files on demand. */
export async function openFolder(root: string): Promise<Archive> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of entries) {
    const path = relative(root, join(entry.parentPath, entry.name)).split(sep).join('/');
    if (entry.isFile()) files.push(path);
    else if (entry.isDirectory()) dirs.push(path);
  }
  return { files, dirs, read: (path) => readFile(join(root, path)), close: () => undefined };
}
