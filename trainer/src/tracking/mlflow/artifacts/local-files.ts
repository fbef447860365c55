import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export interface LocalFile {
  /** Relative to the folder that was listed, with `/` separators. */
  readonly relativePath: string;
  readonly absolutePath: string;
  readonly bytes: number;
}

/** Every file below dir, sorted by path, so uploads and outbox entries are reproducible. */
export async function listLocalFiles(dir: string): Promise<LocalFile[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: LocalFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const absolutePath = path.join(entry.parentPath, entry.name);
    const relativePath = path.relative(dir, absolutePath).split(path.sep).join('/');
    files.push({ relativePath, absolutePath, bytes: (await stat(absolutePath)).size });
  }
  return files.sort((a, b) => a.relativePath.localeCompare(b.relativePath));
}
