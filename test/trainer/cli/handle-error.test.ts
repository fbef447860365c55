import { handleError } from '../../../trainer/src/cli/handle-error';
import { EnvironmentFault, ExplainedError, UserError } from '../../../trainer/src/user-error';

/** What handleError prints, and the exit code it gives. */
function handled(error: unknown): { code: number; printed: string } {
  const lines: string[] = [];
  const write = jest.spyOn(process.stderr, 'write').mockImplementation((text) => lines.push(String(text)) > 0);
  try {
    return { code: handleError(error), printed: lines.join('') };
  } finally {
    write.mockRestore();
  }
}

const fsError = (code: string, syscall: string, path?: string) =>
  Object.assign(new Error(`${code}: some words, ${syscall}`), { code, syscall, errno: -1, ...(path ? { path } : {}) });

test.each([
  ['bad input', new UserError('--epochs: must be a whole number'), 2],
  ['a fault outside the command', new EnvironmentFault('could not download x: connection refused'), 1],
  ['an interruption', new ExplainedError('stopped before the run started', 130), 130],
])('%s: its message alone, and its exit code', (_name, error, code) => {
  const result = handled(error);
  expect(result.code).toBe(code);
  expect(result.printed).toBe(`error: ${error.message}\n`);
});

test('a full disk in the middle of a run names the file and the cause: exit 1, not a bug to report', () => {
  const result = handled(fsError('ENOSPC', 'write', '/data/runs/r1/checkpoints/epoch-0003.bin'));
  expect(result.code).toBe(1);
  expect(result.printed).toBe('error: cannot write /data/runs/r1/checkpoints/epoch-0003.bin: no space left on the disk (ENOSPC): '
    + 'free some space, or give a folder on another disk\n');
});

test.each([
  ['EROFS', 'open', '/mnt/ro/run.json', 'cannot open /mnt/ro/run.json: the file system is read-only (EROFS)'],
  ['EACCES', 'mkdir', '/srv/runs', 'cannot mkdir /srv/runs: permission denied (EACCES)'],
  ['EIO', 'write', undefined, 'cannot write: the disk reported an input/output error (EIO)'],
])('%s is said in words, with the path when the error has one', (code, syscall, path, message) => {
  const result = handled(fsError(code, syscall, path));
  expect(result.printed).toContain(`error: ${message}`);
  expect(result.printed).not.toContain('please report it');
});

test('anything else is a bug: its message, and a request to report it', () => {
  const result = handled(new TypeError('cannot read properties of undefined'));
  expect(result.code).toBe(1);
  expect(result.printed).toContain('please report it');
});
