// Faults are injected on fs.promises itself, whose functions checkWritableFolder calls.
import fs from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentFault, ExplainedError, UserError } from '../../trainer/src/user-error';
import { checkWritableFolder } from '../../trainer/src/writable-folder';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'writable-'));
});
afterEach(async () => {
  jest.restoreAllMocks();
  await rm(work, { recursive: true, force: true });
});

const errno = (code: string, syscall: string, path: string) => Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });

test('a folder that can be written passes, and the check leaves nothing behind: no probe, no folders it made', async () => {
  await checkWritableFolder(join(work, 'a', 'b', 'runs'), { flag: '--out' });
  expect(await readdir(work)).toEqual([]);
  await checkWritableFolder(work, { flag: '--out' });
  expect(await readdir(work)).toEqual([]);
});

test('a file where a folder should be is named', async () => {
  await writeFile(join(work, 'notes.txt'), 'x');
  const check = checkWritableFolder(join(work, 'notes.txt', 'deeper', 'runs'), { flag: '--out' });
  await expect(check).rejects.toBeInstanceOf(UserError);
  await expect(check).rejects.toThrow(`--out ${join(work, 'notes.txt', 'deeper', 'runs')}: ${join(work, 'notes.txt')} is a file, not a folder`);
});

test('/proc takes no folders: said at once, as bad input', async () => {
  await expect(checkWritableFolder('/proc/x/runs', { flag: '--out' })).rejects.toThrow(
    new UserError('--out /proc/x/runs: cannot write in /proc: it takes no new files (a virtual file system such as /proc or /sys); give a folder on a disk'));
});

test('a read-only file system is bad input (another folder is the fix); a full disk is a fault of the machine', async () => {
  jest.spyOn(fs.promises, 'mkdir').mockRejectedValueOnce(errno('EROFS', 'mkdir', join(work, 'runs')));
  const readOnly = checkWritableFolder(join(work, 'runs'), { flag: '--checkpoint-uri' });
  await expect(readOnly).rejects.toThrow(new UserError(`--checkpoint-uri ${join(work, 'runs')}: cannot write in ${work}: `
    + 'the file system is read-only (EROFS): give a folder on a writable disk'));

  jest.spyOn(fs.promises, 'writeFile').mockRejectedValueOnce(errno('ENOSPC', 'write', join(work, '.write-check')));
  const full = checkWritableFolder(join(work, 'runs'), { flag: '--out' });
  await expect(full).rejects.toBeInstanceOf(EnvironmentFault);
  await expect(full).rejects.toThrow(`--out ${join(work, 'runs')}: cannot write in ${join(work, 'runs')}: no space left on the disk (ENOSPC)`);
  expect(await readdir(work)).toEqual([]);
});

test('a file system that does not answer: said while waiting, then a time limit; a stop request ends the wait at once', async () => {
  jest.spyOn(fs.promises, 'mkdir').mockImplementation(() => new Promise(() => undefined));
  const said: string[] = [];
  const hung = checkWritableFolder(join(work, 'runs'), { flag: '--out', timeoutMs: 2500, log: (line) => said.push(line) });
  await expect(hung).rejects.toThrow(new EnvironmentFault(`--out ${join(work, 'runs')}: the file system did not answer within 2.5 s `
    + '(a network mount that hangs?); give a folder on a local disk'));
  expect(said).toEqual([`--out ${join(work, 'runs')}: waiting for the file system to answer (at most 2.5 s; Ctrl-C stops)`]);

  const stop = new AbortController();
  const stopped = checkWritableFolder(join(work, 'runs'), { flag: '--out', signal: stop.signal });
  stop.abort();
  const error = await stopped.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ExplainedError);
  expect(error).toMatchObject({ exitCode: 130, message: `stopped while checking --out ${join(work, 'runs')}, before the run started; nothing was written` });
});
