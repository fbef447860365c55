import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig } from '../../../trainer/src/config';
import { runTraining } from '../../../trainer/src/pipeline/run-training';
import { silentProgress } from '../../../trainer/src/train/progress';

// Training fails partway: the checkpoint after the first epoch cannot be written.
jest.mock('../../../trainer/src/cloud/training-state', () => ({
  captureTrainingState: jest.fn(async () => {
    throw new Error('no space left on device');
  }),
  restoreTrainingState: jest.fn(),
}));

test('a run that fails during training is recorded as FAILED, with its error, the epochs it finished and a report', async () => {
  const work = await mkdtemp(join(tmpdir(), 'failed-run-'));
  const config = parseTrainConfig({
    data: 'synthetic:40', model: 'micro', imageSize: 16, epochs: 3, backend: 'cpu', split: 'cell',
    out: join(work, 'runs'), cacheDir: join(work, 'cache'), checkpointUri: join(work, 'checkpoints'),
  });
  await expect(runTraining(config, { progress: silentProgress, env: {}, log: () => undefined }))
    .rejects.toThrow('no space left on device');

  const [runName] = await readdir(join(work, 'runs'));
  const runDir = join(work, 'runs', runName);
  const run = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  expect(run).toMatchObject({ status: 'FAILED', error: 'no space left on device' });
  const report = await readFile(join(runDir, 'report.html'), 'utf8');
  expect(report).toContain('FAILED');
  expect(report).toContain('no space left on device');
  // The epoch it finished before failing is in the report.
  expect(report).toContain('<tr><td>Epochs run</td><td>1</td></tr>');
});
