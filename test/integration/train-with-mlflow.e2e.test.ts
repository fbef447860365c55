import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '../../trainer/src/tracking/mlflow/client';
import { describeRealMlflow, uniqueName } from '../support/real-mlflow';
import { freePort } from '../support/free-port';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../support/run-cli';
import { serveCli, waitForOutput } from '../support/serve-cli';
import { DARK, png } from '../trainer/serve/tiny-model';

let work: string;
let args: (registerModel: string, out?: string) => string[];
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'train-mlflow-'));
  args = (registerModel, out = join(work, 'runs')) => ['train', '--data', 'synthetic:300', '--model', 'micro', '--image-size', '32', '--epochs', '2',
    '--patience', '0', '--register-model', registerModel, '--out', out, '--cache-dir', join(work, 'cache')];
});

const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1) as string;

describeRealMlflow('npm run train with MLflow', (mlflow) => {
  const client = new MlflowClient(mlflow.connection());
  const fast = { MLFLOW_HTTP_REQUEST_MAX_RETRIES: '1', MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR: '0', MLFLOW_HTTP_REQUEST_TIMEOUT: '20' };

  test('a run is logged: params, history, test metrics, the data set used, run files, a READY logged model, registered champion, served from the registry', async () => {
    const experimentName = uniqueName('train-cli');
    const registerModel = uniqueName('malaria');
    const result = await runCli(args(registerModel), { env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, ...fast } });
    expect(result.code).toBe(0);
    const runDir = lastLine(result.stdout);

    const experiment = await client.getExperimentByName(experimentName);
    const { items: [run, ...others] } = await client.searchRuns([experiment?.experiment_id ?? '']);
    expect(others).toEqual([]);
    expect(run.info.status).toBe('FINISHED');
    const params = Object.fromEntries(run.data.params.map((p) => [p.key, p.value]));
    expect(params).toMatchObject({ model: 'micro', epochs: '2', imageSize: '32', split: 'patient' });
    expect(Number(params.param_count)).toBeGreaterThan(1000);
    const tags = Object.fromEntries(run.data.tags.map((t) => [t.key, t.value]));
    expect(tags['mlflow.runName']).toMatch(/-micro$/);
    expect(tags['mlflow.note.content']).toContain('Trains micro');
    expect(run.data.metrics.map((m) => m.key)).toEqual(expect.arrayContaining(['test_accuracy', 'test_auc', 'val_loss', 'images_per_second',
      'test_auc_ci_low', 'test_auc_ci_high', 'test_accuracy_ci_low', 'test_brier', 'test_ece', 'test_average_precision', 'test_patients']));
    expect((await client.getMetricHistory(run.info.run_id, 'val_loss')).map((m) => m.step)).toEqual([1, 2]);
    // The data set is named for what was read: synthetic cells, not the NIH set.
    expect(run.inputs.dataset_inputs.map((i) => i.dataset.name)).toEqual(['synthetic-cells-300']);
    expect(JSON.parse(await readFile(join(runDir, 'dataset.json'), 'utf8')).name).toBe('synthetic-cells-300');
    const files = (await client.listArtifacts(run.info.run_id)).files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['report.html', 'split.json', 'plots', 'run.json']));

    const [{ model_id: modelId, step }] = run.outputs.model_outputs;
    expect(step).toBe(2);
    const model = await client.getLoggedModel(modelId);
    expect(model.info).toMatchObject({ status: 'LOGGED_MODEL_READY', source_run_id: run.info.run_id });
    expect(model.data.metrics.find((m) => m.key === 'test_auc')).toMatchObject({ dataset_name: 'synthetic-cells-300' });
    const champion = await client.getModelVersionByAlias(registerModel, 'champion');
    expect(champion).toMatchObject({ version: '1', source: `models:/${modelId}`, run_id: run.info.run_id });

    // The registry's champion, served as a user would.
    const server = serveCli(['--model', `models:/${registerModel}@champion`, '--port', '0', '--backend', 'wasm', '--threads', '1'], mlflow.trackingEnv());
    try {
      const url = (await waitForOutput(server, /listening on (http:\/\/\S+);/))[1];
      await waitForOutput(server, new RegExp(`model ${registerModel} version 1 ready`));
      const answer = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await png(DARK) });
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { predictions: { label: string }[] }).predictions).toHaveLength(1);
      expect(await (await fetch(`${url}/metadata`)).json()).toMatchObject({ name: registerModel, version: '1' });
    } finally {
      server.child.kill('SIGTERM');
    }
  });

  test('a later run\'s report sets its test metrics beside the current champion\'s', async () => {
    const registerModel = uniqueName('malaria');
    const env = { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: uniqueName('champion'), ...fast };
    // The first run becomes the champion (version 1) ...
    expect((await runCli(args(registerModel), { env })).code).toBe(0);
    // ... and the second run's report shows it, read before the second registers.
    const second = await runCli(args(registerModel), { env });
    expect(second.code).toBe(0);
    const report = await readFile(join(lastLine(second.stdout), 'report.html'), 'utf8');
    expect(report).toContain('<h2>Against the current champion</h2>');
    expect(report).toContain(`<code>${registerModel}@champion</code> is version 1`);
    expect(report).toMatch(/<tr><td>ROC AUC<\/td><td>[01]\.\d{3}<\/td><td>[01]\.\d{3}<\/td><\/tr>/);
    // The headline gives the verdict by the registry's rule, and the registration says the same, three decimals and all.
    const verdict = new RegExp(`<strong>(Takes|Does not take) the alias</strong> from <code>${registerModel}@champion</code> \\(version 1, run [^)]+\\): `
      + 'its test_auc [01]\\.\\d{3,}\\n(beats|does not beat) the champion\'s [01]\\.\\d{3,}\\.');
    const said = verdict.exec(report.slice(0, report.indexOf('</header>')));
    const done = /alias 'champion' (now points at version 2|stays on version 1): test_auc [01]\.\d{3,6} (beats|does not beat) the champion's [01]\.\d{3,6}\n/.exec(second.stderr);
    expect(said).not.toBeNull();
    expect(done).not.toBeNull();
    expect(said![1] === 'Takes').toBe(done![1] === 'now points at version 2');
  }, 2 * DEFAULT_CLI_TIMEOUT_MS + 60_000);

  test('SIGTERM in the middle of training: the run ends KILLED in MLflow too, and the model is saved', async () => {
    const experimentName = uniqueName('killed');
    let sent = false;
    // A later --epochs wins, as on any command line.
    const result = await runCli([...args(uniqueName('malaria')), '--epochs', '50'], {
      env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, ...fast },
      onStderr: (text, child) => {
        if (!sent && /epoch 2\/50 /.test(text)) {
          sent = true;
          child.kill('SIGTERM');
        }
      },
    });
    expect(result.code).toBe(130);
    const runDir = lastLine(result.stdout);
    expect(existsSync(join(runDir, 'model', 'model.json'))).toBe(true);
    const experiment = await client.getExperimentByName(experimentName);
    const { items: [run] } = await client.searchRuns([experiment?.experiment_id ?? '']);
    expect(run.info.status).toBe('KILLED');
  });

  (mlflow.admin ? test : test.skip)('a rejected login stops the run before its images are read, naming the variables, and leaves no run folder behind', async () => {
    const out = join(work, 'rejected');
    const result = await runCli(args(uniqueName('malaria'), out), {
      env: { ...mlflow.trackingEnv(), MLFLOW_TRACKING_USERNAME: 'admin', MLFLOW_TRACKING_PASSWORD: 'not-the-password', ...fast },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/the credentials of MLFLOW_TRACKING_USERNAME='admin' were rejected\. Set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD/);
    expect(result.stderr).not.toMatch(/images: |epoch 1\//);
    expect(existsSync(out) ? await readdir(out) : []).toEqual([]);
  });

  test('a closed port: said at once, training goes on, each final retry is shown and Ctrl-C skips it; the outbox is sent later with the pasteable command', async () => {
    const uri = `http://127.0.0.1:${await freePort()}`;
    let interrupted = false;
    // MLflow's default retries (7, from 2 s: about four minutes at the end), as a user has them.
    const result = await runCli(args(uniqueName('malaria')), {
      env: { MLFLOW_TRACKING_URI: uri },
      onStderr: (text, child) => {
        if (!interrupted && /Ctrl-C skips tracking/.test(text)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    const { stderr } = result;
    expect(interrupted).toBe(true);
    expect(result.code).toBe(1);
    const runDir = lastLine(result.stdout);
    // Said before the first epoch, with no retries waited out there.
    const warned = stderr.indexOf(`warning: MLflow server ${uri} is unreachable (`);
    expect(warned).toBeGreaterThan(-1);
    expect(warned).toBeLessThan(stderr.indexOf('epoch 1/'));
    expect(stderr.slice(0, stderr.indexOf('epoch 1/'))).not.toMatch(/did not answer/);
    expect(stderr).toMatch(new RegExp(`MLflow server ${uri} did not answer [A-Z]+ /api/2\\.0/mlflow/\\S+ \\(.*ECONNREFUSED.*\\); attempt 2 of 8 in \\d+ s; Ctrl-C skips tracking`));
    // After training, nothing claims that training goes on.
    expect(stderr.slice(stderr.indexOf('test: accuracy'))).not.toMatch(/training goes on/);
    expect(stderr).toContain(`Send them later with:\n  npm run sync -- ${runDir}`);
    expect(existsSync(join(runDir, 'metrics.json'))).toBe(true);
    expect(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8')).status).toBe('FINISHED');

    const experimentName = uniqueName('synced');
    const sync = await runCli(['sync', runDir], { env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, ...fast } });
    expect(sync.code).toBe(0);
    expect(existsSync(join(runDir, 'mlflow-outbox.jsonl'))).toBe(false);
    const again = await runCli(['sync', runDir], { env: { ...mlflow.trackingEnv(), ...fast } });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`nothing to send: ${runDir} has no mlflow-outbox.jsonl`);
  });
});
