import { mkdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fsCause } from './fs-fault';
import { EnvironmentFault, ExplainedError, UserError } from './user-error';

export interface WritableFolderOptions {
  /** How the folder was given, for messages: `--out`, `--checkpoint-uri`. */
  readonly flag: string;
  /** A file system that does not answer within this long is reported (a hung network mount). @default 10000 */
  readonly timeoutMs?: number;
  /** Aborted (Ctrl-C): stop waiting at once. */
  readonly signal?: AbortSignal;
  /** Told when the file system is slow to answer, so the wait is not silent. */
  readonly log?: (line: string) => void;
}

/** After this long without an answer, the wait is said. */
const SLOW_MS = 2000;

/** Written and removed again: big enough that a full disk refuses it, small enough to cost nothing. */
const PROBE_BYTES = 64 * 1024;

/**
 * Checks, in seconds and before any data is read, that `folder` can hold a run's files: every
 * missing level is created and a small file written, then all of it is removed again, so a check
 * leaves nothing behind. A path that cannot work (a file where a folder should be, a read-only or
 * forbidden place, /proc) is a UserError naming the path and the cause; a full disk, or a file
 * system that does not answer within the time limit, is an EnvironmentFault.
 */
export async function checkWritableFolder(folder: string, options: WritableFolderOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const slow = setTimeout(() => options.log?.(`${options.flag} ${folder}: waiting for the file system to answer (at most ${timeoutMs / 1000} s; Ctrl-C stops)`), SLOW_MS);
  const limits = new Promise<never>((_, reject) => {
    // Node's own mkdir can spin forever under /proc, so no call here is awaited without a limit.
    timer = setTimeout(() => reject(new EnvironmentFault(`${options.flag} ${folder}: the file system did not answer within ${timeoutMs / 1000} s `
      + '(a network mount that hangs?); give a folder on a local disk')), timeoutMs);
    onAbort = () => reject(new ExplainedError(`stopped while checking ${options.flag} ${folder}, before the run started; nothing was written`, 130));
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const probing = probeFolder(resolve(folder), options.flag);
    // Past the limit it may still fail; nobody waits for it then.
    probing.catch(() => undefined);
    await Promise.race([probing, limits]);
  } finally {
    clearTimeout(slow);
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener('abort', onAbort);
  }
}

async function probeFolder(folder: string, flag: string): Promise<void> {
  const missing: string[] = [];
  let existing = folder;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw refusal(flag, folder, existing, error);
    });
    if (info?.isDirectory()) break;
    if (info) throw new UserError(`${flag} ${folder}: ${existing} is a file, not a folder; give a folder (or a path to create one)`);
    missing.unshift(existing);
    existing = dirname(existing);
  }
  const created: string[] = [];
  const probe = join(missing.at(-1) ?? folder, `.write-check-${process.pid}`);
  try {
    for (const level of missing) {
      await mkdir(level).catch((error: NodeJS.ErrnoException) => {
        throw refusal(flag, folder, dirname(level), error);
      });
      created.unshift(level);
    }
    await writeFile(probe, Buffer.alloc(PROBE_BYTES)).catch((error: NodeJS.ErrnoException) => {
      throw refusal(flag, folder, dirname(probe), error);
    });
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
    for (const level of created) await rmdir(level).catch(() => undefined);
  }
}

/** Why `folder` cannot be written, from the error met in `where` (the folder or one above it). */
function refusal(flag: string, folder: string, where: string, error: NodeJS.ErrnoException): ExplainedError {
  const prefix = `${flag} ${folder}: cannot write in ${where}`;
  // mkdir answers ENOENT in a folder that exists only where the kernel invents the files (/proc, /sys).
  if (error.code === 'ENOENT') return new UserError(`${prefix}: it takes no new files (a virtual file system such as /proc or /sys); give a folder on a disk`);
  const cause = fsCause(error.code);
  if (!cause) return new EnvironmentFault(`${prefix}: ${error.message}`);
  return error.code === 'ENOSPC' || error.code === 'EDQUOT' || error.code === 'EIO'
    ? new EnvironmentFault(`${prefix}: ${cause}`)
    : new UserError(`${prefix}: ${cause}`);
}
