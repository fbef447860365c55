import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UserError } from '../user-error';
import { createS3Client } from './s3-client';
import { describeLocation, parseStorageLocation, s3Key, type StorageLocation } from './storage-location';

export type ByteProgress = (done: number, total: number) => void;

/** What was written by a streamed copy, hashed on the way so no second pass over the file is needed. */
export interface CopiedFile {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Named objects under one prefix, in S3 or in a local folder. Writes become visible whole (S3
 * objects are atomic; files are written beside and renamed), so a reader never sees half of one.
 */
export interface BlobStore {
  /** The prefix, as a person would write it (s3://bucket/prefix or /abs/folder). */
  readonly description: string;
  size(name: string): Promise<number | undefined>;
  read(name: string): Promise<Uint8Array | undefined>;
  write(name: string, data: Uint8Array | string, onProgress?: ByteProgress): Promise<void>;
  /** Copies an object to a local file (written beside it, then renamed). */
  downloadTo(name: string, file: string, onProgress?: ByteProgress): Promise<CopiedFile>;
  /** Copies a local file in; large files go to S3 as a multipart upload. */
  uploadFrom(file: string, name: string, onProgress?: ByteProgress): Promise<void>;
  remove(name: string): Promise<void>;
}

/** A store for `s3://bucket/prefix/` or a local folder; `flag` names the option in error messages. */
export function createBlobStore(uri: string, flag: string, s3?: S3Client): BlobStore {
  const location = parseStorageLocation(uri, flag);
  return location.kind === 's3' ? s3Store(location, flag, s3 ?? createS3Client()) : folderStore(location.path);
}

// Parts of 16 MiB, four in flight: the NIH zip goes up in 22 parts.
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 4;

function s3Store(location: Extract<StorageLocation, { kind: 's3' }>, flag: string, s3: S3Client): BlobStore {
  const { bucket, prefix } = location;
  const key = (name: string) => s3Key(prefix, name);
  const guard = async <T>(name: string, action: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw explainS3Error(error, `${flag}: ${action} s3://${bucket}/${key(name)}`);
    }
  };
  const upload = (name: string, body: Uint8Array | string | Readable, onProgress?: ByteProgress, total = 0) =>
    guard(name, 'writing', async () => {
      const transfer = new Upload({ client: s3, params: { Bucket: bucket, Key: key(name), Body: body }, partSize: PART_SIZE, queueSize: QUEUE_SIZE });
      if (onProgress) transfer.on('httpUploadProgress', (p) => onProgress(p.loaded ?? 0, p.total ?? total));
      await transfer.done();
    });
  const get = (name: string) =>
    s3.send(new GetObjectCommand({ Bucket: bucket, Key: key(name) })).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });

  return {
    description: describeLocation(location),
    size: (name) =>
      guard(name, 'checking', async () => {
        try {
          const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key(name) }));
          return head.ContentLength;
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      }),
    read: (name) =>
      guard(name, 'reading', async () => {
        const object = await get(name);
        if (!object?.Body) return undefined;
        return collect(object.Body as Readable, object.ContentLength);
      }),
    write: (name, data, onProgress) => upload(name, data, onProgress, data.length),
    downloadTo: (name, file, onProgress) =>
      guard(name, 'downloading', async () => {
        const object = await get(name);
        if (!object?.Body) throw new Error('the object is not there');
        return copyToFile(object.Body as Readable, file, object.ContentLength ?? 0, onProgress);
      }),
    uploadFrom: async (file, name, onProgress) => {
      const { size } = await stat(file);
      await upload(name, createReadStream(file), onProgress, size);
    },
    remove: (name) => guard(name, 'deleting', async () => { await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(name) })); }),
  };
}

function folderStore(folder: string): BlobStore {
  const path = (name: string) => join(folder, name);
  return {
    description: folder,
    size: async (name) => (await stat(path(name)).catch(ifMissing(undefined)))?.size,
    read: async (name) => readFile(path(name)).catch(ifMissing(undefined)),
    write: async (name, data, onProgress) => {
      await mkdir(folder, { recursive: true });
      const temporary = temporaryBeside(path(name));
      await writeFile(temporary, data);
      await rename(temporary, path(name));
      onProgress?.(data.length, data.length);
    },
    downloadTo: async (name, file, onProgress) => {
      const { size } = await stat(path(name));
      return copyToFile(createReadStream(path(name)), file, size, onProgress);
    },
    uploadFrom: async (file, name, onProgress) => {
      await mkdir(folder, { recursive: true });
      const { size } = await stat(file);
      const temporary = temporaryBeside(path(name));
      await pipeline(createReadStream(file), counter(size, onProgress), createWriteStream(temporary));
      await rename(temporary, path(name));
    },
    remove: async (name) => rm(path(name), { force: true }),
  };
}

/** Streams into `file` through a temporary name, hashing as it goes; nothing is left behind on failure. */
async function copyToFile(source: Readable, file: string, total: number, onProgress?: ByteProgress): Promise<CopiedFile> {
  await mkdir(dirname(file), { recursive: true });
  const temporary = temporaryBeside(file);
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      onProgress?.(bytes, total);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, hashing, createWriteStream(temporary));
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { bytes, sha256: hash.digest('hex') };
}

function counter(total: number, onProgress?: ByteProgress): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      done += chunk.length;
      onProgress?.(done, total);
      next(null, chunk);
    },
  });
}

/** Reads a body into one buffer, allocated once when its length is known (the tensor cache is ~1 GB). */
async function collect(body: Readable, length: number | undefined): Promise<Uint8Array> {
  if (length === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
    return new Uint8Array(Buffer.concat(chunks));
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  if (offset !== length) throw new Error(`the transfer ended after ${offset} of ${length} bytes`);
  return out;
}

function temporaryBeside(file: string): string {
  return `${file}.partial-${randomBytes(4).toString('hex')}`;
}

function ifMissing<T>(value: T) {
  return (error: NodeJS.ErrnoException): T => {
    if (error.code === 'ENOENT') return value;
    throw error;
  };
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

/** Credentials, permissions and a missing bucket are the user's to fix; anything else keeps its cause. */
function explainS3Error(error: unknown, context: string): Error {
  const e = error as { name?: string; message?: string };
  const message = `${context}: ${e?.message || e?.name || String(error)}`;
  if (e?.name === 'CredentialsProviderError') {
    return new UserError(`${message}. Configure AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID...) or use a local folder instead.`);
  }
  if (e?.name === 'AccessDenied' || e?.name === 'Forbidden' || e?.name === 'NoSuchBucket') {
    return new UserError(`${message}. Check the bucket name and that these credentials may read and write under that prefix.`);
  }
  return new Error(message, { cause: error });
}
