import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';

const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1) as string;

describeRealMlflow('npm run compare', (mlflow) => {
  const experimentName = uniqueName('compare');
  const env = { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName };
  let work: string;
  const runDirs: string[] = [];

  // Two short trainings of different models, logged to MLflow and kept in their folders.
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'compare-e2e-'));
    for (const model of ['micro', 'cnn-1']) {
      const result = await runCli(['train', '--data', 'synthetic:300', '--model', model, '--image-size', '32', '--epochs', '2', '--patience', '0',
        '--out', join(work, 'runs'), '--cache-dir', join(work, 'cache'), '--register-model', uniqueName('compare-model')], { env });
      expect(result.code).toBe(0);
      runDirs.push(lastLine(result.stdout));
    }
  }, 2 * DEFAULT_CLI_TIMEOUT_MS + 60_000);

  test('two run folders: a report with both runs\' intervals, overlaid curves and what differs; its path last', async () => {
    const result = await runCli(['compare', ...runDirs, '--out', join(work, 'folders')]);
    expect(result.code).toBe(0);
    const report = lastLine(result.stdout);
    expect(report).toMatch(/-comparison\/report\.html$/);
    const html = await readFile(report, 'utf8');
    expect(html).toMatch(/<td>\d{8}-\d{6}-micro<\/td><td>FINISHED<\/td><td>micro<\/td><td>0\.\d{3} \(0\.\d{3}-[01]\.\d{3}\)<\/td>/);
    expect(html).toContain('<h2>Parameters that differ</h2>');
    expect(html).toMatch(/<img alt="ROC curves"/);
  });

  test('MLflow runs, by runs:/<id> and by experiment name, compare the same', async () => {
    const client = new MlflowClient(mlflow.connection());
    const experiment = await client.getExperimentByName(experimentName);
    const ids = (await client.searchRuns([experiment?.experiment_id ?? ''])).items.map((run) => run.info.run_id);
    expect(ids).toHaveLength(2);
    const byId = await runCli(['compare', ...ids.map((id) => `runs:/${id}`), '--out', join(work, 'ids')], { env });
    expect(byId.code).toBe(0);
    const byExperiment = await runCli(['compare', experimentName, '--out', join(work, 'experiment')], { env });
    expect(byExperiment.code).toBe(0);
    for (const result of [byId, byExperiment]) {
      const html = await readFile(lastLine(result.stdout), 'utf8');
      expect(html).toContain('2 runs compared');
      expect(html).toMatch(/runs:\/[0-9a-f]{32}/);
      expect(html).toMatch(/<img alt="ROC curves"/);
      expect(html).toMatch(/<img alt="Learning curves"/);
    }
  });

  test('bad sources are named with the fix', async () => {
    const single = await runCli(['compare', runDirs[0]]);
    expect(single.code).toBe(2);
    expect(single.stderr).toContain('compare needs at least two runs');
    const notRun = await runCli(['compare', work, runDirs[0]]);
    expect(notRun.code).toBe(2);
    expect(notRun.stderr).toContain(`${work} is not a run folder`);
    const noServer = await runCli(['compare', 'runs:/0123456789abcdef0123456789abcdef', runDirs[0]]);
    expect(noServer.code).toBe(2);
    expect(noServer.stderr).toContain('set MLFLOW_TRACKING_URI');
  });
});
