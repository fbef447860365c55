import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { saveModel } from '../../../trainer/src/models/model-files';
import { loadServedModel } from '../../../trainer/src/serve/load-served-model';
import { artifactStoreFor } from '../../../trainer/src/tracking/mlflow/artifacts/store-for-uri';
import { uploadDirectory } from '../../../trainer/src/tracking/mlflow/artifacts/upload-directory';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { describeEachRealMlflow, uniqueName } from '../../support/real-mlflow';
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

describeEachRealMlflow('loading through MLflow', (mlflow) => {
  test('models:/<name>@<alias> loads the version the alias points at, with its run metrics; runs:/ loads by run', async () => {
    const client = new MlflowClient(mlflow.connection());
    const experiment = await client.getOrCreateExperiment(uniqueName('serve'));
    const run = await client.createRun({ experimentId: experiment.experiment_id, runName: 'tiny', startTime: 1 });
    const runId = run.info.run_id;
    await uploadDirectory(artifactStoreFor(run.info.artifact_uri, client), join(runDir, 'model'), 'model');
    await client.logBatch(runId, { metrics: [{ key: 'test_auc', value: 0.95, timestamp: 1, step: 0 }], params: [], tags: [] });
    const name = uniqueName('malaria');
    await client.getOrCreateRegisteredModel(name);
    const version = await client.createModelVersion({ name, source: `runs:/${runId}/model`, runId });
    await client.setRegisteredModelAlias(name, 'champion', version.version);

    const champion = await loadServedModel(`models:/${name}@champion`, { mlflow: client, downloadDir: join(runDir, 'champion') });
    expect(champion.info).toMatchObject({ name, version: version.version, metrics: { test_auc: 0.95 } });
    expect((await champion.predict([flatRgb(DARK)]))[0]).toBeGreaterThan(0.5);
    const byVersion = await loadServedModel(`models:/${name}/${version.version}`, { mlflow: client, downloadDir: join(runDir, 'v1') });
    expect(byVersion.info).toMatchObject({ name, version: version.version });
    const byRun = await loadServedModel(`runs:/${runId}/model`, { mlflow: client, downloadDir: join(runDir, 'run') });
    expect(byRun.info).toMatchObject({ name: 'tiny', version: runId, metrics: { test_auc: 0.95 } });
    await expect(loadServedModel(`models:/${name}@staging`, { mlflow: client, downloadDir: join(runDir, 'x') })).rejects.toThrow(`model ${name} has no alias "staging"`);
  });

  test('models:/m-<id> loads an MLflow 3 logged model, with the metrics linked to it; so does its registered version', async () => {
    const client = new MlflowClient(mlflow.connection());
    const experiment = await client.getOrCreateExperiment(uniqueName('serve'));
    const run = await client.createRun({ experimentId: experiment.experiment_id, runName: 'tiny', startTime: 1 });
    const model = await client.createLoggedModel({ experimentId: experiment.experiment_id, name: 'model', sourceRunId: run.info.run_id });
    const modelId = model.info.model_id;
    await uploadDirectory(artifactStoreFor(model.info.artifact_uri, client), join(runDir, 'model'));
    await client.finalizeLoggedModel(modelId, 'LOGGED_MODEL_READY');
    await client.logBatch(run.info.run_id, { metrics: [{ key: 'test_auc', value: 0.97, timestamp: 1, step: 1, model_id: modelId }], params: [], tags: [] });

    const served = await loadServedModel(`models:/${modelId}`, { mlflow: client, downloadDir: join(runDir, 'logged') });
    expect(served.info).toMatchObject({ name: 'tiny', version: modelId, source: `models:/${modelId}`, metrics: { test_auc: 0.97 } });
    expect((await served.predict([flatRgb(DARK)]))[0]).toBeGreaterThan(0.5);

    const name = uniqueName('malaria');
    await client.getOrCreateRegisteredModel(name);
    const version = await client.createModelVersion({ name, source: `models:/${modelId}`, runId: run.info.run_id, modelId });
    const registered = await loadServedModel(`models:/${name}/${version.version}`, { mlflow: client, downloadDir: join(runDir, 'registered') });
    expect(registered.info).toMatchObject({ name, version: version.version });
    await expect(loadServedModel('models:/m-00000000000000000000000000000000', { mlflow: client, downloadDir: join(runDir, 'none') })).rejects.toThrow(/RESOURCE_DOES_NOT_EXIST/);
  });
});
