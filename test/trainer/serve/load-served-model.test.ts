import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { saveModel } from '../../../trainer/src/models/model-files';
import { loadServedModel } from '../../../trainer/src/serve/load-served-model';
import { artifactStoreFor } from '../../../trainer/src/tracking/mlflow/artifacts/store-for-uri';
import { uploadDirectory } from '../../../trainer/src/tracking/mlflow/artifacts/upload-directory';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { fastConnection, startFakeMlflow } from '../../support/fake-mlflow';
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

describe('through MLflow', () => {
  test('models:/<name>@<alias> loads the version the alias points at, with its run metrics; runs:/ loads by run', async () => {
    const server = await startFakeMlflow();
    try {
      const mlflow = new MlflowClient(fastConnection(server.url));
      const experiment = await mlflow.getOrCreateExperiment('serve');
      const run = await mlflow.createRun({ experimentId: experiment.experiment_id, runName: 'tiny', startTime: 1 });
      const runId = run.info.run_id;
      await uploadDirectory(artifactStoreFor(run.info.artifact_uri, mlflow), join(runDir, 'model'), 'model');
      await mlflow.logBatch(runId, { metrics: [{ key: 'test_auc', value: 0.95, timestamp: 1, step: 0 }], params: [], tags: [] });
      await mlflow.getOrCreateRegisteredModel('malaria');
      const version = await mlflow.createModelVersion({ name: 'malaria', source: `runs:/${runId}/model`, runId });
      await mlflow.setRegisteredModelAlias('malaria', 'champion', version.version);
      const options = { mlflow, downloadDir: join(runDir, 'downloads') };

      const champion = await loadServedModel('models:/malaria@champion', { ...options, downloadDir: join(runDir, 'champion') });
      expect(champion.info).toMatchObject({ name: 'malaria', version: version.version, metrics: { test_auc: 0.95 } });
      expect((await champion.predict([flatRgb(DARK)]))[0]).toBeGreaterThan(0.5);

      const byVersion = await loadServedModel(`models:/malaria/${version.version}`, { ...options, downloadDir: join(runDir, 'v1') });
      expect(byVersion.info).toMatchObject({ name: 'malaria', version: version.version });

      const byRun = await loadServedModel(`runs:/${runId}/model`, { ...options, downloadDir: join(runDir, 'run') });
      expect(byRun.info).toMatchObject({ name: 'tiny', version: runId, metrics: { test_auc: 0.95 } });

      await expect(loadServedModel('models:/malaria@staging', options)).rejects.toThrow(/model malaria has no alias "staging"/);
    } finally {
      await server.close();
    }
  });
});
