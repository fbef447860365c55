import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import type { Run } from '../../../trainer/src/tracking/mlflow/schemas';
import { expandGrid } from '../../../trainer/src/sweep/grid';
import { planSweep, sweepFolder } from '../../../trainer/src/sweep/plan';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';

const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1) as string;
const tagsOf = (run: Run) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const metricsOf = (run: Run) => Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sweep-e2e-'));
});

test('--dry-run prints the cells the grid makes, and trains nothing', async () => {
  const result = await runCli(['--models', 'micro,cnn-1', '--seeds', '1,2', '--data', 'synthetic:400', '--epochs', '1', '--dry-run'], { entry: 'bin/sweep.ts' });
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(/^sweep-\d{8}-\d{6}-[0-9a-f]{4}: 4 trainings, one after another on this machine\n/);
  expect(result.stdout).toContain('    1  micro seed=1\n');
  expect(result.stdout).toContain('    4  cnn-1 seed=2\n');
});

test('a grid with a bad cell is refused before anything trains, naming the cell', async () => {
  const result = await runCli(['--models', 'micro,vgg', '--data', 'synthetic:400'], { entry: 'bin/sweep.ts' });
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/cell 2 \(vgg\): .*--model/s);
});

describeRealMlflow('sweeps with MLflow', (mlflow) => {
  const client = new MlflowClient(mlflow.connection());
  const runsOf = async (experimentName: string) => {
    const experiment = await client.getExperimentByName(experimentName);
    return (await client.searchRuns([experiment?.experiment_id ?? ''], { maxResults: 100 })).items;
  };

  test('npm run sweep runs four trainings here as children of one parent run, and writes the comparison (its path last)', async () => {
    const experimentName = uniqueName('sweep');
    const result = await runCli(['--models', 'micro,cnn-1', '--seeds', '1,2', '--data', 'synthetic:400', '--epochs', '1',
      '--out', join(work, 'local'), '--cache-dir', join(work, 'cache'), '--register-model', uniqueName('sweep-model')], {
      // Four trainings in one command: four times a single training's kill timer.
      entry: 'bin/sweep.ts', env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName }, timeoutMs: 4 * DEFAULT_CLI_TIMEOUT_MS,
    });
    expect(result.code).toBe(0);
    const report = lastLine(result.stdout);
    expect(report).toMatch(/sweep-\d{8}-\d{6}-[0-9a-f]{4}\/report\.html$/);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('By configuration (mean ± standard deviation over its runs)');
    for (const cell of ['01-micro-seed-1', '02-micro-seed-2', '03-cnn-1-seed-1', '04-cnn-1-seed-2']) {
      expect(existsSync(join(dirname(report), cell, 'report.html'))).toBe(true);
    }

    const runs = await runsOf(experimentName);
    const parent = runs.find((run) => tagsOf(run)['malaria.group_kind'] === 'sweep');
    expect(parent?.info.status).toBe('FINISHED');
    const children = runs.filter((run) => tagsOf(run)['mlflow.parentRunId'] === parent?.info.run_id);
    expect(children.map((run) => tagsOf(run)['malaria.group_member']).sort()).toEqual(['cnn-1 seed=1', 'cnn-1 seed=2', 'micro seed=1', 'micro seed=2']);
    expect(children.every((run) => run.info.status === 'FINISHED')).toBe(true);
    expect(metricsOf(parent as Run)).toMatchObject({ runs_compared: 4, configurations: 2, test_auc_mean: expect.any(Number) });
    // The parent holds the comparison, not copies of its children's files.
    const artifacts = (await client.listArtifacts(parent!.info.run_id)).files.map((f) => f.path);
    expect(artifacts).toEqual(expect.arrayContaining(['report.html', 'comparison.json', 'plan.json']));
    expect(artifacts.some((path) => path.startsWith('01-micro'))).toBe(false);
  }, 4 * DEFAULT_CLI_TIMEOUT_MS + 60_000);

  test('the cloud steps: sweep-start makes the parent, each sweep-cell trains one cell under it, sweep-finish compares and ends it', async () => {
    const experimentName = uniqueName('cloud-sweep');
    const env = { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, AWS_EC2_METADATA_DISABLED: 'true' };
    // The plan as the launcher writes it to s3://<bucket>/sweeps/<id>/ (a folder works the same).
    const plan = planSweep(expandGrid({ fixed: { data: 'synthetic:300', epochs: 1, imageSize: 32, registerModel: uniqueName('cloud-model') }, axes: { seed: [1, 2] } }));
    const { sweepId } = plan;
    const folder = join(work, 'plans', sweepId);
    await sweepFolder(folder).writePlan(plan);

    const start = await runCli(['sweep-start', '--plan', `${folder}/plan.json`], { env });
    expect(start.code).toBe(0);
    const parent = await sweepFolder(folder).readParent();
    expect(parent?.runId).toMatch(/^[0-9a-f]{32}$/);
    for (const index of ['0', '1']) {
      const cell = await runCli(['sweep-cell', '--plan', folder, '--out', join(work, 'cells'), '--cache-dir', join(work, 'cache')],
        { env: { ...env, AWS_BATCH_JOB_ARRAY_INDEX: index } });
      expect(cell.code).toBe(0);
    }
    const finish = await runCli(['sweep-finish', '--plan', folder, '--out', join(work, 'finish')], { env });
    expect(finish.code).toBe(0);
    expect(lastLine(finish.stdout)).toBe(join(work, 'finish', sweepId, 'report.html'));

    const parentRun = await client.getRun(parent!.runId!);
    expect(parentRun.info.status).toBe('FINISHED');
    expect(metricsOf(parentRun)).toMatchObject({ runs_compared: 2, configurations: 1, test_accuracy_mean: expect.any(Number), test_accuracy_sd: expect.any(Number) });
    const children = (await runsOf(experimentName)).filter((run) => tagsOf(run)['mlflow.parentRunId'] === parent!.runId);
    expect(children.map((run) => tagsOf(run)['malaria.group_member']).sort()).toEqual(['seed=1', 'seed=2']);
    expect((await client.listArtifacts(parent!.runId!)).files.map((f) => f.path)).toEqual(expect.arrayContaining(['report.html', 'comparison.json']));
  }, 4 * DEFAULT_CLI_TIMEOUT_MS + 60_000);
});
