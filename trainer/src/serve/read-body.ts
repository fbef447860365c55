import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error';

/** Reads a request body, refusing (413) before reading when Content-Length is over the limit, or as soon as the bytes are. */
export function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = (): HttpError =>
    new HttpError(413, `request body is over the ${formatMb(maxBytes)} limit (--max-body-mb): send fewer or smaller images per request`);
  const declared = Number(request.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        request.removeAllListeners('data');
        request.resume();
        reject(tooLarge());
      } else {
        chunks.push(chunk);
      }
    });
    request.on('end', () => resolve(Buffer.concat(chunks, size)));
    request.on('error', reject);
    // A client that hangs up mid-body would otherwise leave this request waiting forever.
    request.on('close', () => {
      if (!request.complete) reject(new HttpError(400, 'the client closed the connection before the whole body arrived'));
    });
  });
}

function formatMb(bytes: number): string {
  return `${+(bytes / 1e6).toFixed(3)} MB`;
}
