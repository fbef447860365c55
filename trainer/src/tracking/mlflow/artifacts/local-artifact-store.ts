import { cp, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../../../user-error';
import type { ArtifactStore, DownloadedArtifact } from './artifact-store';
import { listLocalFiles } from './local-files';

/** A plain path or `file:` URI: the server was started with a local artifact root this machine shares. */
export class LocalArtifactStore implements ArtifactStore {
  private readonly root: string;

  constructor(readonly rootUri: string) {
    this.root = rootUri.startsWith('file:') ? fileURLToPath(rootUri) : rootUri;
  }

  async uploadFile(localFile: string, artifactPath: string): Promise<void> {
    const target = path.join(this.root, ...artifactPath.split('/'));
    await mkdir(path.dirname(target), { recursive: true });
    await cp(localFile, target);
  }

  async download(artifactPath: string, destDir: string): Promise<DownloadedArtifact> {
    const source = path.join(this.root, ...artifactPath.split('/').filter(Boolean));
    const info = await stat(source).catch(() => undefined);
    if (!info) throw new UserError(`no artifact '${artifactPath}' under ${this.rootUri}`);
    await mkdir(destDir, { recursive: true });
    if (info.isFile()) {
      const target = path.join(destDir, path.basename(source));
      await cp(source, target);
      return { localPath: target, files: [target] };
    }
    await cp(source, destDir, { recursive: true });
    const files = (await listLocalFiles(source)).map((f) => path.join(destDir, ...f.relativePath.split('/')));
    return { localPath: destDir, files };
  }
}
