import type { ArtifactStore } from './artifact-store';
import { joinArtifactPath } from './artifact-store';
import { listLocalFiles } from './local-files';

export interface UploadProgress {
  /** What is being uploaded, e.g. `run files` or `model`. */
  readonly label: string;
  readonly files: number;
  readonly totalFiles: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

export interface UploadDirectoryOptions {
  /** Names this upload in progress reports. @default 'files' */
  readonly label?: string;
  /** Relative paths (with `/`) to leave out. */
  readonly exclude?: (relativePath: string) => boolean;
  readonly onProgress?: (progress: UploadProgress) => void;
  /** @default 4 */
  readonly concurrency?: number;
}

/** Uploads every file below localDir to artifactPath, a few at a time. */
export async function uploadDirectory(
  store: ArtifactStore,
  localDir: string,
  artifactPath = '',
  options: UploadDirectoryOptions = {},
): Promise<{ files: number; bytes: number }> {
  const files = (await listLocalFiles(localDir)).filter((f) => !options.exclude?.(f.relativePath));
  const totalBytes = files.reduce((sum, f) => sum + f.bytes, 0);
  let next = 0;
  let done = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < files.length) {
      const file = files[next++];
      await store.uploadFile(file.absolutePath, joinArtifactPath(artifactPath, file.relativePath));
      done += 1;
      bytes += file.bytes;
      options.onProgress?.({ label: options.label ?? 'files', files: done, totalFiles: files.length, bytes, totalBytes });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, files.length) }, worker));
  return { files: files.length, bytes };
}
