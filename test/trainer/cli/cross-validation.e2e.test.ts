import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import type { Run } from '../../../trainer/src/tracking/mlflow/schemas';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';

/**
 * `--cv 3` on real NIH cells (the shared sample beside the repository; a user's clone lacks it and
 * the test says so in its name), logged to a real MLflow: a parent run with a child run per fold.
 */
const SAMPLE = join(__dirname, '..', '..', '..', '..', 'shared', 'real-cells', 'nih-cells-50px-grey-sample.zip');
const tagsOf = (run: Run) => Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
const metricsOf = (run: Run) => Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cv-e2e-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

if (!existsSync(SAMPLE)) {
  test.skip('skipped: no real NIH cells at ../shared/real-cells/nih-cells-50px-grey-sample.zip (a clone without the shared folder)', () => undefined);
} else {
  describeRealMlflow('cross-validation on real cells', (mlflow) => {
    test('--cv 3: three folds tested on patients the others trained on, mean ± sd in one report, a parent run with a child per fold', async () => {
      const experimentName = uniqueName('cv');
      const result = await runCli(['train', '--data', SAMPLE, '--model', 'micro', '--image-size', '48', '--limit', '1200', '--epochs', '6',
        '--patience', '0', '--cv', '3', '--seed', '2', '--out', join(work, 'runs'), '--cache-dir', join(work, 'cache'), '--register-model', uniqueName('cv-model')],
      // Three trainings in one command: three times a single training's kill timer.
      { env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName }, timeoutMs: 3 * DEFAULT_CLI_TIMEOUT_MS });
      expect(result.code).toBe(0);
      const report = result.stdout.trim().split('\n').at(-1) as string;
      expect(report).toMatch(/-micro-cv3\/report\.html$/);
      expect(result.stderr).toMatch(/split by patient, fold 1 of 3: \d+ train, \d+ validation, \d+ test images/);

      // Every image is tested once: the three test sets partition the 2,400 cells.
      const tested = await Promise.all([1, 2, 3].map(async (fold) =>
        JSON.parse(await readFile(join(dirname(report), `fold-${fold}`, 'split.json'), 'utf8')).test as string[]));
      expect(tested.flat()).toHaveLength(2400);
      expect(new Set(tested.flat()).size).toBe(2400);

      const html = await readFile(report, 'utf8');
      expect(html).toContain('<h1>Cross-validation ');
      expect(html).toMatch(/<td>all runs<\/td><td>3<\/td><td>0\.\d{3} ± 0\.\d{3}<\/td>/);
      expect(html).toContain('all its runs\' test predictions pooled');
      // Every cell scored once by a model that never trained on it: the suspected label errors, in the report and a file to edit.
      expect(html).toContain('<h2>Suspected label errors</h2>');
      const issues = (await readFile(join(dirname(report), 'label-issues.csv'), 'utf8')).trim().split('\n');
      expect(issues[0]).toBe('rank,file,patient,given_label,p_parasitized,p_given_label,fold,new_label');
      expect(result.stderr).toMatch(/label issues: confident learning estimates \d+ of 2400 labels/);

      const client = new MlflowClient(mlflow.connection());
      const experiment = await client.getExperimentByName(experimentName);
      const runs = (await client.searchRuns([experiment?.experiment_id ?? ''])).items;
      const parent = runs.find((run) => tagsOf(run)['malaria.group_kind'] === 'cross-validation') as Run;
      expect(parent.info.status).toBe('FINISHED');
      const children = runs.filter((run) => tagsOf(run)['mlflow.parentRunId'] === parent.info.run_id);
      expect(children.map((run) => tagsOf(run).cvFold).sort()).toEqual(['1', '2', '3']);
      const summary = metricsOf(parent);
      expect(summary).toMatchObject({ runs_compared: 3, test_accuracy_mean: expect.any(Number), test_accuracy_sd: expect.any(Number), test_auc_pooled: expect.any(Number), label_issues_estimated: expect.any(Number) });
      // Real cells, few epochs: well above chance already.
      expect(summary.test_auc_pooled).toBeGreaterThan(0.7);
    }, 3 * DEFAULT_CLI_TIMEOUT_MS + 60_000);
  });
}
