import { createReadStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../../../user-error';
import { MlflowApiError, MlflowResponseError } from '../errors';
import type { ArtifactSettings } from '../env';
import type { HttpTransport } from '../http';
import { Responses } from '../schemas';
import { type ArtifactStore, baseName, type DownloadedArtifact, joinArtifactPath } from './artifact-store';
import { DEFAULT_PROXY_MULTIPART, uploadInParts } from './proxy-multipart';

const PROXY = '/api/2.0/mlflow-artifacts/artifacts';

function encodePath(artifactPath: string): string {
  return artifactPath.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/**
 * `mlflow-artifacts:/<path>`: the server (run with --serve-artifacts) stores the files for us, so
 * the trainer needs no credentials for the bucket behind it.
 */
export class ProxyArtifactStore implements ArtifactStore {
  /** The path under the proxy endpoint, e.g. `4/<run_id>/artifacts`. */
  private readonly root: string;

  constructor(
    readonly rootUri: string,
    private readonly http: HttpTransport,
    private readonly settings: ArtifactSettings = {},
  ) {
    // mlflow-artifacts:/4/... or mlflow-artifacts://host:port/4/...: the path is what counts, and
    // the tracking server is the proxy (the deployments this trainer targets have one server).
    this.root = joinArtifactPath(new URL(rootUri).pathname);
  }

  async uploadFile(localFile: string, artifactPath: string): Promise<void> {
    const { size } = await stat(localFile);
    const full = joinArtifactPath(this.root, artifactPath);
    const multipart = this.settings.proxyMultipart ?? DEFAULT_PROXY_MULTIPART;
    if (multipart && size >= multipart.minBytes) {
      const dir = full.split('/').slice(0, -1).join('/');
      if (await uploadInParts(this.http, dir, baseName(full), localFile, size, multipart)) return;
    }
    await this.http.request({
      method: 'PUT',
      path: `${PROXY}/${encodePath(full)}`,
      body: () => createReadStream(localFile),
      contentLength: size,
    });
  }

  async download(artifactPath: string, destDir: string): Promise<DownloadedArtifact> {
    const entries = await this.list(artifactPath);
    await mkdir(destDir, { recursive: true });
    if (entries.length === 0) {
      // A missing file is not asked for: an S3-backed server answers that with a 500, not a 404.
      const parent = artifactPath.split('/').filter(Boolean).slice(0, -1).join('/');
      const siblings = await this.list(parent);
      if (!siblings.some((f) => !f.is_dir && baseName(f.path) === baseName(artifactPath))) {
        throw new UserError(`no artifact '${artifactPath}' under ${this.rootUri}`);
      }
      const target = path.join(destDir, baseName(artifactPath));
      await this.fetchFile(artifactPath, target);
      return { localPath: target, files: [target] };
    }
    const files: string[] = [];
    for (const entry of entries) {
      const child = joinArtifactPath(artifactPath, baseName(entry.path));
      const target = path.join(destDir, baseName(entry.path));
      if (entry.is_dir) files.push(...(await this.download(child, target)).files);
      else {
        await this.fetchFile(child, target);
        files.push(target);
      }
    }
    return { localPath: destDir, files };
  }

  private async list(artifactPath: string) {
    const res = await this.http.request({ method: 'GET', path: PROXY, query: { path: joinArtifactPath(this.root, artifactPath) } });
    const parsed = Responses.artifactList.safeParse(JSON.parse(res.text || '{}'));
    if (!parsed.success) throw new MlflowResponseError(`GET ${PROXY}`, parsed.error.message);
    return parsed.data.files;
  }

  private async fetchFile(artifactPath: string, target: string): Promise<void> {
    try {
      await this.http.request({ method: 'GET', path: `${PROXY}/${encodePath(joinArtifactPath(this.root, artifactPath))}`, toFile: target });
    } catch (error) {
      if (error instanceof MlflowApiError && error.status === 404) {
        throw new UserError(`no artifact '${artifactPath}' under ${this.rootUri}`);
      }
      throw error;
    }
  }
}
