import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openZip } from '../../trainer/src/data/zip-archive';
import { MlflowClient } from '../../trainer/src/tracking/mlflow/client';
import { freePort } from '../support/free-port';
import { pythonSkipReason, pythonVenv, runInVenv, runPython, VENV_TIMEOUT_MS, type PythonVenv } from '../support/python-venv';
import { describeRealMlflow, uniqueName, type RealMlflow } from '../support/real-mlflow';
import { REPO_ROOT } from '../support/real-mlflow/kit';
import { runCli } from '../support/run-cli';
import { serveCli, waitForOutput } from '../support/serve-cli';

/**
 * A model trained by `npm run train` with MLflow set, used as a data scientist uses one: loaded
 * with `mlflow.pyfunc.load_model` from the registry, served by `mlflow models serve`, packed by
 * `mlflow models generate-dockerfile`, in a Python venv of the model's own requirements, against
 * the real MLflow 3.11. Every answer is compared with `npm run serve`'s on the same real cells.
 */

const SAMPLE = join(REPO_ROOT, '..', 'shared', 'real-cells', 'nih-cells-50px-grey-sample.zip');
const skip = existsSync(SAMPLE)
  ? pythonSkipReason()
  : 'no real NIH cells at ../shared/real-cells/nih-cells-50px-grey-sample.zip (a clone without the shared folder)';
/** Cells compared: both classes, from the zip's start and end. */
const CELLS = 24;
/** 64 px, not the cells' 50: every cell goes through the resize, which the Python side must reproduce. */
const IMAGE_SIZE = 64;

interface Prediction {
  readonly probability: number;
  readonly label: string;
}

/** The README's "From Python" code block. */
async function readmeFromPython(): Promise<string> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### From Python'));
  const code = /```python\n([\s\S]*?)```/.exec(section);
  if (!code) throw new Error('README.md has no python block under "### From Python"');
  return code[1];
}

function expectSameAnswers(got: readonly Prediction[], expected: readonly Prediction[], what: string): void {
  expect({ what, count: got.length }).toEqual({ what, count: expected.length });
  const worst = Math.max(...got.map((p, i) => Math.abs(p.probability - expected[i].probability)));
  expect({ what, worst, labels: got.map((p) => p.label) }).toEqual({ what, worst: expect.any(Number), labels: expected.map((p) => p.label) });
  expect(worst).toBeLessThan(1e-4);
}

async function postJson(url: string, body: unknown): Promise<{ status: number; json: { predictions: Prediction[] } }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as { predictions: Prediction[] } };
}

function describeTools(title: string, body: (mlflow: RealMlflow) => void): void {
  if (skip) describe.skip(`${title} (SKIPPED: ${skip})`, () => test('needs Python 3.11 and ../shared', () => undefined));
  else describeRealMlflow(title, body);
}

describeTools('a trained model in MLflow\'s Python tools', (mlflow) => {
  const client = new MlflowClient(mlflow.connection());
  const modelName = uniqueName('malaria-py');
  const uri = `models:/${modelName}@champion`;
  let work: string;
  let venv: PythonVenv;
  let pngs: Buffer[];
  let files: string[];
  /** `npm run serve`'s answers for the cells: the reference. */
  let ours: Prediction[];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'mlflow-python-'));
    const [made, trained] = await Promise.all([
      pythonVenv(),
      runCli([
        'train', '--data', SAMPLE, '--model', 'micro', '--image-size', String(IMAGE_SIZE), '--limit', '150', '--epochs', '2',
        '--register-model', modelName, '--out', join(work, 'runs'), '--cache-dir', join(work, 'cache'),
      ], { env: { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: uniqueName('python-tools') }, timeoutMs: 600_000 }),
    ]);
    venv = made;
    if (trained.code !== 0) throw new Error(`npm run train exited ${trained.code}:\n${trained.stderr.slice(-3000)}`);

    const zip = await openZip(SAMPLE);
    const cells = zip.files.filter((f) => f.endsWith('.png'));
    const picked = [...cells.slice(0, CELLS / 2), ...cells.slice(-CELLS / 2)];
    pngs = await Promise.all(picked.map(async (f) => Buffer.from(await zip.read(f))));
    zip.close();
    await mkdir(join(work, 'cells'));
    files = picked.map((f) => basename(f));
    await Promise.all(files.map((f, i) => writeFile(join(work, 'cells', f), pngs[i])));

    const server = serveCli(['--model', uri, '--port', '0'], mlflow.trackingEnv());
    try {
      const url = (await waitForOutput(server, /listening on (http:\/\/\S+);/))[1];
      await waitForOutput(server, / ready/);
      const answer = await postJson(`${url}/invocations`, { instances: pngs.map((png) => png.toString('base64')) });
      expect(answer.status).toBe(200);
      ours = answer.json.predictions;
    } finally {
      server.child.kill('SIGTERM');
    }
    // Both labels occur, so that comparing them means something.
    expect(new Set(ours.map((p) => p.label)).size).toBe(2);
  }, VENV_TIMEOUT_MS + 900_000);
  afterAll(() => work && rm(work, { recursive: true, force: true }));

  test('mlflow.pyfunc.load_model("models:/<name>@champion") rebuilds it with Keras and answers as `npm run serve` does', async () => {
    const result = await runPython(venv, 'driver.py', ['pyfunc'], JSON.stringify({ uri, pngs: pngs.map((png) => png.toString('base64')) }), mlflow.trackingEnv());
    expect(result.stderr).not.toMatch(/Traceback/);
    const { records, backend } = JSON.parse(result.stdout) as { records: Prediction[]; backend: string };
    expect(backend).toBe('jax');
    expectSameAnswers(records, ours, 'mlflow.pyfunc.load_model');
  }, 600_000);

  test('the README\'s "From Python" lines run as written (with this test\'s model name) and label every cell', async () => {
    const code = (await readmeFromPython()).replace('models:/malaria-classifier@champion', uri);
    const result = await runInVenv(venv, venv.python, ['-c', code], { cwd: work, env: mlflow.trackingEnv() });
    expect({ code: result.code, stderr: result.code ? result.stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
    for (const [i, file] of files.entries()) expect(result.stdout).toMatch(new RegExp(`${ours[i].label}\\s+cells/${file.replace(/\./g, '\\.')}`));
  }, 600_000);

  test('`mlflow models serve -m models:/<name>@champion --env-manager local` answers /invocations as `npm run serve` does', async () => {
    const port = await freePort();
    const server: ChildProcess = spawn('mlflow', ['models', 'serve', '-m', uri, '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(port)], {
      cwd: work, env: venv.env(mlflow.trackingEnv()), detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    server.stdout?.on('data', (chunk: Buffer) => { log += chunk.toString(); });
    server.stderr?.on('data', (chunk: Buffer) => { log += chunk.toString(); });
    try {
      const deadline = Date.now() + 480_000;
      while (!(await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.ok, () => false))) {
        if (server.exitCode !== null) throw new Error(`mlflow models serve exited ${server.exitCode}:\n${log.slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`mlflow models serve did not answer /ping:\n${log.slice(-3000)}`);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
      const url = `http://127.0.0.1:${port}/invocations`;
      const b64 = pngs.map((png) => png.toString('base64'));
      const split = await postJson(url, { dataframe_split: { columns: ['image'], data: b64.map((text) => [text]) } });
      expect(split.status).toBe(200);
      expectSameAnswers(split.json.predictions, ours, 'dataframe_split');
      const instances = await postJson(url, { instances: b64 });
      expect(instances.status).toBe(200);
      expectSameAnswers(instances.json.predictions, ours, 'instances');
      // What it cannot score is a 400 naming the image, as ours says it.
      const bad = await postJson(url, { instances: [b64[0], Buffer.from('not an image').toString('base64')] });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(bad.json)).toContain('image 1: not a PNG or JPEG image');
    } finally {
      // uvicorn and its workers: the whole process group. ESRCH: it has ended already, and an error
      // thrown above says why.
      try {
        if (server.pid) process.kill(-server.pid, 'SIGTERM');
      } catch { /* ended already */ }
    }
  }, 600_000);

  test('`mlflow models generate-dockerfile` writes a Dockerfile that installs the model\'s requirements and serves it', async () => {
    const out = join(work, 'docker');
    const result = await runInVenv(venv, 'mlflow', ['models', 'generate-dockerfile', '-m', uri, '-d', out], { cwd: work, env: mlflow.trackingEnv() });
    expect({ code: result.code, stderr: result.code ? result.stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
    const dockerfile = await readFile(join(out, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM python:3\.11/m);
    // The model goes in as it is in the registry; building the image installs its requirements.txt.
    expect(dockerfile).toContain('COPY model_dir /opt/ml/model');
    expect(dockerfile).toContain("C._install_pyfunc_deps('/opt/ml/model'");
    expect(dockerfile).toMatch(/ENTRYPOINT .*_serve/);
    expect(await readdir(join(out, 'model_dir'))).toEqual(expect.arrayContaining(['MLmodel', 'code', 'model.json', 'python_env.yaml', 'requirements.txt', 'weights.bin']));
  }, 600_000);

  test('the registered version carries the model card: its description, and model_card.md among its files', async () => {
    const version = await client.getModelVersionByAlias(modelName, 'champion');
    expect(version?.description).toMatch(new RegExp(`^\\*\\*${modelName} version 1\\*\\*: \`mlflow\\.pyfunc\\.load_model\\("models:/${modelName}/1"\\)\``));
    expect(version?.description).toContain('**Not for:** diagnosing malaria in a person.');
    expect(version?.description).toMatch(/\| ROC AUC \| \d\.\d{3} \| \d\.\d{3} to \d\.\d{3} \|/);
    await mkdir(join(work, 'version-1'));
    const result = await runPython(venv, 'driver.py', ['download'], JSON.stringify({ uri: `models:/${modelName}/1`, dest: join(work, 'version-1') }), mlflow.trackingEnv());
    expect({ code: result.code, stderr: result.code ? result.stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
    const { path } = JSON.parse(result.stdout) as { path: string };
    expect(await readFile(join(path, 'model_card.md'), 'utf8')).toContain('## Worst test patients');
  }, 300_000);
});
