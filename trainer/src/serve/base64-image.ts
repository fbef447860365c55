import { badRequest } from './http-error';

const DATA_URL_PREFIX = /^data:[^,;]*;base64,/i;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes a base64 (or base64url, or `data:` URL) string; whitespace such as `base64`'s line breaks is ignored. */
export function decodeBase64Image(text: string, where: string): Uint8Array {
  const compact = text.replace(DATA_URL_PREFIX, '').replace(/\s+/g, '');
  if (compact.length === 0) throw badRequest(`${where}: empty string; expected a base64-encoded PNG or JPEG image`);
  if (!BASE64.test(compact) || compact.replace(/=+$/, '').length % 4 === 1) {
    throw badRequest(`${where}: not valid base64; expected a base64-encoded PNG or JPEG image`);
  }
  return Buffer.from(compact, 'base64');
}
