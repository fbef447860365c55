import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/config';
import { saveModel } from '../../../trainer/src/models/model-files';
import { loadServedModel } from '../../../trainer/src/serve/load-served-model';
import { BRIGHT, DARK, flatRgb, trainTinyModel } from './tiny-model';

let runDir: string;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'serve-load-'));
  const { model, preprocessing } = await trainTinyModel();
  await saveModel(model, join(runDir, 'model'), preprocessing);
  await writeFile(join(runDir, 'metrics.json'), JSON.stringify({ test_accuracy: 0.9, test_auc: 0.95 }));
});

afterAll(() => rm(runDir, { recursive: true, force: true }));

test('a run folder loads its model/, named by architecture and run, with the run test metrics', async () => {
  const served = await loadServedModel(runDir);
  expect(served.info).toMatchObject({
    name: 'tiny', version: runDir.split('/').pop(), source: runDir, metrics: { test_accuracy: 0.9, test_auc: 0.95 },
  });
  const [dark, bright] = await served.predict([flatRgb(DARK), flatRgb(BRIGHT)]);
  expect(dark).toBeGreaterThan(0.5);
  expect(bright).toBeLessThan(0.5);
});

test('a bare model folder loads with version "local" and no metrics', async () => {
  const served = await loadServedModel(join(runDir, 'model'));
  expect(served.info).toMatchObject({ name: 'tiny', version: 'local' });
  expect(served.info.metrics).toBeUndefined();
});

test('a folder without a model is a user error naming both places looked at', async () => {
  const missing = join(runDir, 'nothing-here');
  await expect(loadServedModel(missing)).rejects.toThrow(UserError);
  await expect(loadServedModel(missing)).rejects.toThrow(/nothing-here\/model\/model\.json nor .*nothing-here\/model\.json/);
});

test('an MLflow URI without a tracking server configured says to set MLFLOW_TRACKING_URI', async () => {
  await expect(loadServedModel('models:/malaria@champion')).rejects.toThrow(/set MLFLOW_TRACKING_URI/);
});
