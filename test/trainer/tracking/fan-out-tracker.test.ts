import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { FanOutTracker } from '../../../trainer/src/tracking/fan-out-tracker';
import { RunFolderTracker } from '../../../trainer/src/tracking/run-folder';
import type { Tracker } from '../../../trainer/src/tracking/tracker';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'fan-out-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

const start = (runDir: string) => ({ runName: 'r', runDir, description: 'd', tags: {} });

/** A server that takes every event, or refuses the run as MLflow does a rejected login. */
function server(refuse: boolean, calls: string[], runDir = ''): Tracker {
  const record = (name: string) => async () => { calls.push(name); };
  return {
    startRun: async () => {
      calls.push('server start');
      if (refuse) throw new UserError('MLflow server requires authentication (401)');
    },
    logParams: record('server params'),
    setTags: record('server tags'),
    logMetrics: async () => { calls.push(`server metrics (run folder has them: ${existsSync(path.join(runDir, 'metrics.jsonl'))})`); },
    logDataset: record('server dataset'),
    endRun: record('server end'),
  };
}

test('a server that refuses the run stops it before the run folder exists', async () => {
  const runDir = path.join(work, 'run');
  const tracker = new FanOutTracker([new RunFolderTracker(runDir), server(true, [])]);
  await expect(tracker.startRun(start(runDir))).rejects.toThrow(/401/);
  expect(existsSync(runDir)).toBe(false);
});

test('once started, every event reaches the run folder first, then the server', async () => {
  const runDir = path.join(work, 'run');
  const calls: string[] = [];
  const tracker = new FanOutTracker([new RunFolderTracker(runDir), server(false, calls, runDir)]);
  await tracker.startRun(start(runDir));
  await tracker.logMetrics({ loss: 1 }, 1);
  expect(calls).toEqual(['server start', 'server metrics (run folder has them: true)']);
  expect(await readFile(path.join(runDir, 'metrics.jsonl'), 'utf8')).toBe('{"epoch":1,"loss":1}\n');
  expect(JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8')).status).toBe('RUNNING');
});
