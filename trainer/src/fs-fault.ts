import { EnvironmentFault } from './user-error';

/** What the file system's error codes mean to a person, and what to do about them. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the disk (ENOSPC): free some space, or give a folder on another disk',
  EDQUOT: 'the disk quota is used up (EDQUOT): free some space, or give a folder on another disk',
  EROFS: 'the file system is read-only (EROFS): give a folder on a writable disk',
  EACCES: 'permission denied (EACCES): give a folder you can write to',
  EPERM: 'the operation is not permitted there (EPERM): give a folder you can write to',
  ENOTDIR: 'a part of the path is a file, not a folder (ENOTDIR)',
  EIO: 'the disk reported an input/output error (EIO): check the disk',
  ENAMETOOLONG: 'the path is too long (ENAMETOOLONG)',
  EMFILE: 'too many open files (EMFILE): raise the limit (ulimit -n)',
};

/** The cause of an errno in words, with the fix; undefined for codes that do not come from the machine's disks. */
export function fsCause(code: string | undefined): string | undefined {
  return code ? CAUSES[code] : undefined;
}

/**
 * A file-system error that the machine caused, not the trainer (a full disk, a read-only mount),
 * as an error naming the path and the cause; undefined for anything else, which stays a bug to report.
 */
export function fsFault(error: unknown): EnvironmentFault | undefined {
  const e = error as NodeJS.ErrnoException | undefined;
  const cause = fsCause(e?.code);
  if (!cause || !(e instanceof Error)) return undefined;
  const verb = e.syscall ?? 'use the disk';
  const where = e.path ? `${verb} ${e.path}` : verb;
  return new EnvironmentFault(`cannot ${where}: ${cause}`);
}
