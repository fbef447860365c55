import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../support/free-port';
import { runCli, type CliResult } from '../../support/run-cli';

/**
 * A machine that is not as the command expects: an output folder that cannot be written, an
 * address that is not MLflow, a download server that is not there. Each is said early (before any
 * image is decoded), with the path or address and the real cause, and the exit code the README
 * gives: 2 when the command must change, 1 when the same command works once the cause is fixed.
 * Full and read-only disks are injected at the file system's edge (test/support/fs-faults.cjs),
 * which works whoever runs the tests; where mounting works, a real tiny tmpfs shows the same.
 */
const FS_FAULTS = join(__dirname, '..', '..', 'support', 'fs-faults.cjs');

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'faults-e2e-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

const train = (args: readonly string[]) => ['train', '--data', 'synthetic:40', '--model', 'micro', '--image-size', '32', '--epochs', '1',
  '--cache-dir', join(work, 'cache'), ...args];
const faulty = (path: string, code: string) => ({ NODE_OPTIONS: `--require ${FS_FAULTS}`, FS_FAULT_PATH: path, FS_FAULT_CODE: code });

/** One message naming the cause, said before any image was generated or decoded, no stack trace, no "please report it". */
function expectEarlyCause(result: CliResult, code: number, ...fragments: string[]): void {
  expect(result.code).toBe(code);
  for (const fragment of fragments) expect(result.stderr).toContain(fragment);
  expect(result.stderr).not.toMatch(/generating|decoding images|please report it/);
  expect(result.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe('an output folder that cannot hold the run', () => {
  test('--out /proc/x: refused at once (exit 2), not a hang at 100% CPU', async () => {
    expectEarlyCause(await runCli(train(['--out', '/proc/x'])), 2,
      'error: --out /proc/x: cannot write in /proc: it takes no new files (a virtual file system such as /proc or /sys); give a folder on a disk');
  });

  test('compare --out /proc/x: refused at once too', async () => {
    const result = await runCli(['compare', 'runs/a', 'runs/b', '--out', '/proc/x']);
    expectEarlyCause(result, 2, 'error: --out /proc/x: cannot write in /proc: it takes no new files');
  });

  test('--out whose parent is a file: names the file (exit 2)', async () => {
    await writeFile(join(work, 'notes.txt'), 'a file');
    const out = join(work, 'notes.txt', 'runs');
    expectEarlyCause(await runCli(train(['--out', out])), 2, `error: --out ${out}: ${join(work, 'notes.txt')} is a file, not a folder`);
  });

  test('--out on a read-only file system: says read-only (exit 2), leaves no folder behind', async () => {
    const out = join(work, 'read-only', 'runs');
    expectEarlyCause(await runCli(train(['--out', out]), { env: faulty(join(work, 'read-only'), 'EROFS') }), 2,
      `error: --out ${out}: cannot write in ${work}: the file system is read-only (EROFS): give a folder on a writable disk`);
    expect(existsSync(join(work, 'read-only'))).toBe(false);
  });

  test('--out on a full disk: says the disk is full (exit 1: the same command works once there is space)', async () => {
    const out = join(work, 'full');
    await mkdir(out);
    expectEarlyCause(await runCli(train(['--out', out]), { env: faulty(out, 'ENOSPC') }), 1,
      `error: --out ${out}: cannot write in ${out}: no space left on the disk (ENOSPC): free some space, or give a folder on another disk`);
    expect(await readdir(out)).toEqual([]);
  });

  test('--checkpoint-uri on a read-only file system fails before any image is decoded, not after epoch 1', async () => {
    const checkpoints = join(work, 'read-only-checkpoints');
    expectEarlyCause(await runCli(train(['--out', join(work, 'runs'), '--checkpoint-uri', checkpoints]), { env: faulty(checkpoints, 'EROFS') }), 2,
      `error: --checkpoint-uri ${checkpoints}: cannot write in ${work}: the file system is read-only (EROFS)`);
  });

  test('a file system that hangs: the first Ctrl-C stops the command at once (exit 130), nothing written', async () => {
    const out = join(work, 'hung', 'runs');
    let waiting = 0;
    const result = await runCli(train(['--out', out]), {
      env: faulty(join(work, 'hung'), 'HANG'),
      onStderr: (text, child) => {
        if (!waiting && text.includes(`--out ${out}: waiting for the file system to answer (at most 10 s; Ctrl-C stops)`)) {
          waiting = Date.now();
          child.kill('SIGINT');
        }
      },
    });
    expect(waiting).toBeGreaterThan(0);
    expectEarlyCause(result, 130, `error: stopped while checking --out ${out}, before the run started; nothing was written`);
  });

  test('a file system that hangs, left alone: a time limit names it (exit 1)', async () => {
    const out = join(work, 'hung-alone');
    expectEarlyCause(await runCli(train(['--out', out]), { env: faulty(out, 'HANG') }), 1,
      `error: --out ${out}: the file system did not answer within 10 s (a network mount that hangs?); give a folder on a local disk`);
  });
});

/** Whether this machine lets the tests mount a tmpfs (root with the privilege: a VM, a privileged container). */
function canMount(): boolean {
  const dir = join(tmpdir(), `mount-probe-${process.pid}`);
  try {
    execFileSync('mkdir', ['-p', dir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir]);
    return true;
  } catch {
    return false;
  } finally {
    execFileSync('rmdir', [dir]);
  }
}

const MOUNTABLE = canMount();
(MOUNTABLE ? describe : describe.skip)(`real disks: a tiny tmpfs${MOUNTABLE ? '' : ' (SKIPPED: mounting is not allowed here; the injected faults above cover the same answers)'}`, () => {
  const mounted: string[] = [];
  const mount = async (name: string, options: string) => {
    const dir = join(work, name);
    await mkdir(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=64k,${options}`, 'tmpfs', dir]);
    mounted.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of mounted) execFileSync('umount', [dir]);
  });

  test('a full one: no space left on the disk (exit 1)', async () => {
    const full = await mount('tmpfs-full', 'rw');
    // Filled to the last block.
    await writeFile(join(full, 'filler'), Buffer.alloc(64 * 1024)).catch(() => undefined);
    expectEarlyCause(await runCli(train(['--out', join(full, 'runs')])), 1, 'no space left on the disk (ENOSPC)');
  });

  test('a read-only one: the file system is read-only (exit 2)', async () => {
    const readOnly = await mount('tmpfs-ro', 'ro');
    expectEarlyCause(await runCli(train(['--out', join(readOnly, 'runs')])), 2, `cannot write in ${readOnly}: the file system is read-only (EROFS)`);
  });
});

describe('servers that are not what the command expects', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  test('an MLflow address where another web server answers: said, with what answered, before any data is read (exit 2)', async () => {
    // Answers as `python3 -m http.server` does: a 404 page for every path it does not have.
    server = createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/html;charset=utf-8' });
      res.end('<!DOCTYPE HTML>\n<html lang="en"><head><title>Error response</title></head><body><h1>Error response</h1><p>Error code: 404</p>'
        + '<p>Message: File not found.</p></body></html>\n');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const result = await runCli(train(['--out', join(work, 'runs')]), { env: { MLFLOW_TRACKING_URI: uri } });
    expectEarlyCause(result, 2, `error: MLFLOW_TRACKING_URI=${uri} answers, but not as an MLflow tracking server: `
      + 'an experiment lookup (GET /api/2.0/mlflow/experiments/get-by-name) got HTTP 404 (text/html;charset=utf-8): <!DOCTYPE HTML> <html lang="en"><head><title>Error response',
    'Check the address and the port of the MLflow server');
    expect(existsSync(join(work, 'runs'))).toBe(false);
  });

  test('--data http://127.0.0.1:<closed port>/x.zip: connection refused, never connected, no .part left (exit 1)', async () => {
    const port = await freePort();
    const cache = join(work, 'download-cache');
    const url = `http://127.0.0.1:${port}/x.zip`;
    const result = await runCli(['train', '--data', url, '--cache-dir', cache, '--out', join(work, 'runs')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`error: could not download ${url} after 5 attempts: connection refused by 127.0.0.1:${port}: `
      + 'nothing listens there (ECONNREFUSED), so it never connected. Nothing was received. Check the address and the network, or pass a local copy to --data.');
    expect(result.stderr).toContain(`could not connect (connection refused by 127.0.0.1:${port}: nothing listens there (ECONNREFUSED), so it never connected); attempt 2 of 5 in 1 s\n`);
    expect(result.stderr).not.toMatch(/interrupted|resuming|please report it/);
    expect(await readdir(cache)).toEqual([]);
  }, 120_000);
});
