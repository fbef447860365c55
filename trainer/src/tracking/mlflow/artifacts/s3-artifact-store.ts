import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError } from '../../../user-error';
import { type ArtifactStore, baseName, type DownloadedArtifact, joinArtifactPath } from './artifact-store';

/** Multipart part size: large model files go up in parallel parts of this size. */
const PART_BYTES = 8 * 1024 * 1024;

/** `s3://bucket/prefix`: written straight to S3 with the default AWS credential chain. */
export class S3ArtifactStore implements ArtifactStore {
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    readonly rootUri: string,
    private readonly s3: S3Client,
  ) {
    const url = new URL(rootUri);
    this.bucket = url.hostname;
    this.prefix = joinArtifactPath(decodeURIComponent(url.pathname));
    if (!this.bucket) throw new UserError(`artifact URI '${rootUri}' names no bucket`);
  }

  private key(artifactPath: string): string {
    return joinArtifactPath(this.prefix, artifactPath);
  }

  async uploadFile(localFile: string, artifactPath: string): Promise<void> {
    const upload = new Upload({
      client: this.s3,
      params: { Bucket: this.bucket, Key: this.key(artifactPath), Body: createReadStream(localFile) },
      partSize: PART_BYTES,
      queueSize: 4,
    });
    await upload.done();
  }

  async download(artifactPath: string, destDir: string): Promise<DownloadedArtifact> {
    const folderKey = `${this.key(artifactPath)}/`.replace(/^\//, '');
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folderKey, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key ?? '').filter((k) => k && !k.endsWith('/')));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    await mkdir(destDir, { recursive: true });
    if (keys.length === 0) {
      const target = path.join(destDir, baseName(artifactPath));
      await this.fetch(this.key(artifactPath), target, artifactPath);
      return { localPath: target, files: [target] };
    }
    const files: string[] = [];
    for (const key of keys) {
      const target = path.join(destDir, ...key.slice(folderKey.length).split('/'));
      await mkdir(path.dirname(target), { recursive: true });
      await this.fetch(key, target, artifactPath);
      files.push(target);
    }
    return { localPath: destDir, files };
  }

  private async fetch(key: string, target: string, artifactPath: string): Promise<void> {
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      await pipeline(object.Body as Readable, createWriteStream(target));
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') throw new UserError(`no artifact '${artifactPath}' under ${this.rootUri}`);
      throw error;
    }
  }
}
