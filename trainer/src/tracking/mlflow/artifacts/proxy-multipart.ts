import { createReadStream } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { z } from 'zod';
import { MlflowApiError, MlflowResponseError } from '../errors';
import type { HttpTransport } from '../http';

const MIB = 1024 * 1024;
/** S3 refuses parts below this (all but the last). */
export const S3_MIN_PART_BYTES = 5 * MIB;

export interface ProxyMultipart {
  /** Files of at least this many bytes are sent in parts. */
  readonly minBytes: number;
  readonly chunkBytes: number;
}

/**
 * On by default from 32 MiB (MLflow's Python client: off, from 500 MiB), so that model weights
 * (VGG16's are about 60 MB) go in parallel parts straight to the bucket, not through the one
 * small server task, and a failed part is sent again alone.
 */
export const DEFAULT_PROXY_MULTIPART: ProxyMultipart = { minBytes: 32 * MIB, chunkBytes: 10 * MIB };

const MPU = '/api/2.0/mlflow-artifacts/mpu';
const PARALLEL_PARTS = 4;
const PART_ATTEMPTS = 3;

const CreateResponse = z.object({
  upload_id: z.string().default(''),
  credentials: z.array(z.object({ url: z.string(), part_number: z.coerce.number(), headers: z.record(z.string(), z.string()).default({}) })),
});

function encodePath(artifactPath: string): string {
  return artifactPath.split('/').filter(Boolean).map(encodeURIComponent).join('/');
}

/** PUTs one byte range of the file to a presigned URL (the bucket's, not MLflow's: no MLflow login); the part's ETag. */
function putPart(url: string, headers: Record<string, string>, file: string, start: number, bytes: number, timeoutMs: number): Promise<string> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(url, { method: 'PUT', headers: { ...headers, 'content-length': String(bytes) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const etag = res.headers.etag;
        if (res.statusCode === 200 && etag) resolve(etag);
        else reject(new Error(`part upload answered HTTP ${res.statusCode}: ${Buffer.concat(chunks).toString('utf8').slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    request.on('error', reject);
    createReadStream(file, { start, end: start + bytes - 1 }).on('error', (e) => request.destroy(e)).pipe(request);
  });
}

async function putPartWithRetries(...args: Parameters<typeof putPart>): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await putPart(...args);
    } catch (error) {
      if (attempt >= PART_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
    }
  }
}

/**
 * Uploads a file through MLflow's proxied multipart API: the server opens the upload and signs
 * one URL per part, the parts go straight to the storage behind it, the server completes it.
 * @param dir path under `mlflow-artifacts:` of the folder the file goes in
 * @returns false when the server cannot (its store is a local folder: 501; MLflow before 2.8:
 * 404) or the parts could not reach the storage; the caller then sends the file in one piece
 */
export async function uploadInParts(transport: HttpTransport, dir: string, name: string, file: string, size: number, settings: ProxyMultipart): Promise<boolean> {
  const numParts = Math.ceil(size / settings.chunkBytes);
  let created: z.infer<typeof CreateResponse>;
  try {
    const res = await transport.request({ method: 'POST', path: `${MPU}/create/${encodePath(dir)}`, json: { path: name, num_parts: numParts } });
    const parsed = CreateResponse.safeParse(JSON.parse(res.text));
    if (!parsed.success) throw new MlflowResponseError(`POST ${MPU}/create`, parsed.error.message);
    created = parsed.data;
  } catch (error) {
    if (error instanceof MlflowApiError && (error.status === 501 || error.status === 404)) return false;
    throw error;
  }
  const etags: string[] = new Array(created.credentials.length);
  const timeoutMs = transport.connection.timeoutMs;
  try {
    let next = 0;
    const worker = async () => {
      while (next < created.credentials.length) {
        const i = next++;
        const { url, part_number: partNumber, headers } = created.credentials[i];
        const start = (partNumber - 1) * settings.chunkBytes;
        etags[i] = await putPartWithRetries(url, headers, file, start, Math.min(settings.chunkBytes, size - start), timeoutMs);
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, numParts) }, worker));
  } catch {
    // The storage cannot be reached from here (a bucket endpoint only the server sees): no parts.
    await transport.request({ method: 'POST', path: `${MPU}/abort/${encodePath(dir)}`, json: { path: name, upload_id: created.upload_id }, maxRetries: 1 }).catch(() => undefined);
    return false;
  }
  const parts = created.credentials.map((c, i) => ({ part_number: c.part_number, etag: etags[i], url: c.url }));
  await transport.request({ method: 'POST', path: `${MPU}/complete/${encodePath(dir)}`, json: { path: name, upload_id: created.upload_id, parts } });
  return true;
}
