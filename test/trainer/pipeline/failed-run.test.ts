import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selectBackend, type BackendInfo } from '../../../trainer/src/backend/select-backend';
import type { CheckpointStore } from '../../../trainer/src/cloud/checkpoint-store';
import { parseTrainConfig } from '../../../trainer/src/config';
import { runTraining } from '../../../trainer/src/pipeline/run-training';
import { RunFolderTracker } from '../../../trainer/src/tracking/run-folder';
import { RunTracking } from '../../../trainer/src/tracking/run-tracking';
import { silentProgress } from '../../../trainer/src/train/progress';

/** A checkpoint location that takes nothing: the first epoch's checkpoint fails, as on a full disk. */
const fullDisk: CheckpointStore = {
  description: '/full/disk',
  load: async () => undefined,
  save: async () => {
    throw new Error('no space left on device');
  },
};

let backend: BackendInfo;
let work: string;
beforeAll(async () => {
  backend = await selectBackend('cpu');
});
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'failed-run-'));
});

const config = () => parseTrainConfig({
  data: 'synthetic:40', model: 'micro', imageSize: 16, epochs: 3, backend: 'cpu', split: 'cell',
  out: join(work, 'runs'), cacheDir: join(work, 'cache'),
});
const deps = (overrides: Partial<Parameters<typeof runTraining>[1]> = {}) => ({
  backend, progress: silentProgress, env: {}, log: () => undefined, checkpoints: fullDisk,
  openTracking: ({ runDir }: { runDir: string }) => new RunTracking(new RunFolderTracker(runDir)),
  ...overrides,
});

async function onlyRunDir(): Promise<string> {
  const [runName] = await readdir(join(work, 'runs'));
  return join(work, 'runs', runName);
}

test('a run that fails during training is recorded as FAILED, with its error, the epochs it finished and a report', async () => {
  await expect(runTraining(config(), deps())).rejects.toThrow('no space left on device');

  const runDir = await onlyRunDir();
  const run = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  expect(run).toMatchObject({ status: 'FAILED', error: 'no space left on device' });
  const report = await readFile(join(runDir, 'report.html'), 'utf8');
  expect(report).toContain('FAILED');
  expect(report).toContain('no space left on device');
  // The epoch it finished before failing is in the report, from its headline on.
  expect(report).toContain('1 of 3 epochs (best: 1)');
  expect(report).toContain('No test figures: the run failed after 1 of 3 epochs (the error is below).');
});

test('when recording the failure fails too, the error that ended the training is the one reported', async () => {
  const lines: string[] = [];
  const openTracking = ({ runDir }: { runDir: string }) => {
    const tracking = new RunTracking(new RunFolderTracker(runDir));
    tracking.endRun = async () => {
      throw new Error('tracking server gone');
    };
    return tracking;
  };
  await expect(runTraining(config(), deps({ openTracking, log: (line) => lines.push(line) }))).rejects.toThrow('no space left on device');
  expect(lines).toContain('warning: could not record the run as FAILED: tracking server gone');
  expect(await readFile(join(await onlyRunDir(), 'report.html'), 'utf8')).toContain('no space left on device');
});
