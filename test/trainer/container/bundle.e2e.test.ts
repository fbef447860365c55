import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeMlflow } from '../../support/fake-mlflow';

/**
 * What the image runs, checked without Docker: the esbuild bundle started with only the runtime
 * packages beside it, as in /app. tfjs-node-gpu cannot install here (it downloads libtensorflow),
 * so it is left out, and the bundle must then fall back to wasm/cpu by itself.
 */
const root = join(__dirname, '../../..');
const runtimeDir = join(root, 'trainer/runtime');
const runtime = JSON.parse(readFileSync(join(runtimeDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const project = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

test('the image installs the same versions of the runtime packages that laptops and tests use', () => {
  const shared = Object.keys(runtime.dependencies).filter((name) => name in project.dependencies);
  expect(shared.length).toBeGreaterThan(3);
  for (const name of shared) expect({ name, version: runtime.dependencies[name] }).toEqual({ name, version: project.dependencies[name] });
  expect(runtime.dependencies['@tensorflow/tfjs-node-gpu']).toBe(project.dependencies['@tensorflow/tfjs']);
});

test('the runtime lock file matches its package.json (npm ci in the image would refuse it otherwise)', () => {
  const lock = JSON.parse(readFileSync(join(runtimeDir, 'package-lock.json'), 'utf8'));
  expect(lock.packages[''].dependencies).toEqual(runtime.dependencies);
  for (const [name, version] of Object.entries(runtime.dependencies)) expect(lock.packages[`node_modules/${name}`]?.version).toBe(version);
});

describe('the bundle with only the runtime packages', () => {
  let app: string;
  const run = (args: string[], timeout = 60_000): SpawnSyncReturns<string> =>
    spawnSync(process.execPath, [join(app, 'train.js'), ...args], { cwd: app, encoding: 'utf8', timeout, env: { PATH: process.env.PATH, HOME: app, XDG_CACHE_HOME: join(app, 'cache'), AWS_EC2_METADATA_DISABLED: 'true' } });

  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'trainer-app-'));
    const built = spawnSync(process.execPath, [join(root, 'trainer/build.mjs'), '--outdir', app], { encoding: 'utf8' });
    expect(built.stderr).toBe('');
    expect(built.status).toBe(0);
    const { ['@tensorflow/tfjs-node-gpu']: _gpu, ...withoutGpu } = runtime.dependencies;
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'trainer-app', private: true, dependencies: withoutGpu }));
    copyFileSync(join(runtimeDir, 'package-lock.json'), join(app, 'package-lock.json'));
    const installed = spawnSync('npm', ['install', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, encoding: 'utf8' });
    expect(installed.status).toBe(0);
  }, 300_000);
  afterAll(() => app && rmSync(app, { recursive: true, force: true }));

  test('`node train.js --help` lists the subcommands', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/\btrain\b/);
    expect(help.stdout).toMatch(/\bserve\b/);
  });

  test('`train --help` offers the cloud options the boot script passes', () => {
    const help = run(['train', '--help']);
    expect(help.status).toBe(0);
    for (const flag of ['--require-gpu', '--dataset-cache', '--checkpoint-uri']) expect(help.stdout).toContain(flag);
  });

  test('trains on the wasm fallback and writes the whole run folder (plots through resvg and the shipped font, report, model)', () => {
    const result = run(['train', '--data', 'synthetic:40', '--model', 'micro', '--epochs', '1', '--image-size', '32', '--out', 'runs'], 180_000);
    expect(result.stderr).not.toMatch(/Cannot find module|ENOENT/);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/backend: WebAssembly on the CPU \(wasm\)/);
    const runDir = result.stdout.trim().split('\n').pop()!;
    for (const file of ['metrics.json', 'report.html', 'model/model.json', 'model/preprocessing.json']) expect(existsSync(join(runDir, file))).toBe(true);
    expect(readdirSync(join(runDir, 'plots')).filter((f) => f.endsWith('.png')).length).toBeGreaterThan(0);
  });

  test('logged to MLflow, the bundle\'s model carries the Python loader of its python_function flavor', async () => {
    const server = await startFakeMlflow();
    try {
      const child = spawn(process.execPath, [join(app, 'train.js'), 'train', '--data', 'synthetic:40', '--model', 'micro', '--epochs', '1', '--image-size', '32', '--out', 'runs'], {
        cwd: app, env: { PATH: process.env.PATH, HOME: app, XDG_CACHE_HOME: join(app, 'cache'), AWS_EC2_METADATA_DISABLED: 'true', MLFLOW_TRACKING_URI: server.url },
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const code = await new Promise((resolve) => child.on('close', resolve));
      expect({ code, stderr: code ? stderr.slice(-2000) : '' }).toEqual({ code: 0, stderr: '' });
      const files = [...server.state.artifacts.keys()].map((key) => key.replace(/^.*?(code\/|MLmodel$)/, '$1')).filter((key) => /^(code\/|MLmodel$)/.test(key));
      expect(files.sort()).toEqual(['MLmodel', ...readdirSync(join(app, 'malaria_mlops_pyfunc')).map((f) => `code/malaria_mlops_pyfunc/${f}`).sort()]);
      expect(files).toContain('code/malaria_mlops_pyfunc/__init__.py');
    } finally {
      await server.close();
    }
  }, 240_000);

  test('--require-gpu fails with its own message where there is no GPU, not with a missing module', () => {
    const result = run(['train', '--require-gpu', '--data', 'synthetic:20', '--epochs', '1']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/--require-gpu: no NVIDIA GPU is visible/);
    expect(result.stderr).not.toMatch(/Cannot find module/);
  });
});
