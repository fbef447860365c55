import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunFolderTracker } from '../../../trainer/src/tracking/run-folder';

const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));

test('a run folder records params, per-epoch metrics, the dataset and how the run ended', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'run-')), 'r1');
  const tracker = new RunFolderTracker(dir);
  await tracker.startRun({ runName: 'r1', runDir: dir, description: 'a test run', tags: { model: 'micro' } });
  await tracker.logParams({ epochs: 2 });
  await tracker.logParams({ seed: 7 });
  await tracker.setTags({ backend: 'cpu' });
  await tracker.logMetrics({ loss: 0.5 }, 1);
  await tracker.logMetrics({ loss: 0.25 }, 2);
  await tracker.logDataset({ name: 'd', digest: 'x', source: 's', splitDigest: 'y', counts: { train: 1, validation: 1, test: 1 } });
  await tracker.endRun({ status: 'FINISHED', testMetrics: { test_accuracy: 0.9 } });

  expect(await readJson(join(dir, 'params.json'))).toEqual({ epochs: 2, seed: 7 });
  const lines = (await readFile(join(dir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  expect(lines).toEqual([{ epoch: 1, loss: 0.5 }, { epoch: 2, loss: 0.25 }]);
  expect(await readJson(join(dir, 'metrics.json'))).toEqual({ test_accuracy: 0.9 });
  expect(await readJson(join(dir, 'dataset.json'))).toMatchObject({ counts: { train: 1 } });
  const run = await readJson(join(dir, 'run.json'));
  expect(run).toMatchObject({ runName: 'r1', status: 'FINISHED', tags: { model: 'micro', backend: 'cpu' } });
  expect(Date.parse(run.endTime)).toBeGreaterThanOrEqual(Date.parse(run.startTime));
});

test('a failed run keeps its error message', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'run-')), 'r2');
  const tracker = new RunFolderTracker(dir);
  await tracker.startRun({ runName: 'r2', runDir: dir, description: '', tags: {} });
  await tracker.endRun({ status: 'FAILED', error: 'out of memory' });
  expect(await readJson(join(dir, 'run.json'))).toMatchObject({ status: 'FAILED', error: 'out of memory' });
});
