/**
 * Where a run's artifacts live, chosen from its `artifact_uri`. Paths inside the store are
 * relative, with `/` separators; '' is the root.
 */
export interface ArtifactStore {
  /** The artifact root this store writes under, as MLflow names it. */
  readonly rootUri: string;
  uploadFile(localFile: string, artifactPath: string): Promise<void>;
  /**
   * Copies the file or folder at artifactPath into destDir: a folder's contents land directly in
   * destDir (subfolders kept), a file lands as destDir/<its name>.
   */
  download(artifactPath: string, destDir: string): Promise<DownloadedArtifact>;
}

export interface DownloadedArtifact {
  /** destDir for a folder, the file's local path for a single file. */
  readonly localPath: string;
  /** Every local file written. */
  readonly files: readonly string[];
}

export function joinArtifactPath(...parts: readonly string[]): string {
  return parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

export function baseName(artifactPath: string): string {
  const parts = artifactPath.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '';
}
