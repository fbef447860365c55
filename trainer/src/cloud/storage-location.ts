import { resolve } from 'node:path';
import { UserError } from '../user-error';

/** Where a cache or checkpoint prefix lives: an S3 prefix, or a folder for laptop runs. */
export type StorageLocation =
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'folder'; readonly path: string };

/**
 * Parses `s3://bucket/some/prefix/` (the trailing slash is optional) or a local path. The S3 prefix
 * comes back without a trailing slash, empty for the bucket's root.
 */
export function parseStorageLocation(uri: string, flag: string): StorageLocation {
  if (/^s3:/i.test(uri)) {
    const match = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(uri);
    if (!match) {
      throw new UserError(`${flag}: '${uri}' is not an S3 location; write it as s3://bucket-name/prefix/ (lower-case bucket name)`);
    }
    return { kind: 's3', bucket: match[1], prefix: (match[2] ?? '').replace(/\/+$/, '') };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new UserError(`${flag}: '${uri}' is neither s3://bucket/prefix nor a local folder`);
  }
  return { kind: 'folder', path: resolve(uri) };
}

/** The S3 key of `name` under a prefix. */
export function s3Key(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name;
}

export function describeLocation(location: StorageLocation): string {
  return location.kind === 's3' ? `s3://${location.bucket}/${location.prefix}` : location.path;
}
