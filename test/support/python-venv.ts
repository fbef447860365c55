import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ENVIRONMENT_FILES, environmentFiles } from '../../trainer/src/tracking/mlflow/pyfunc/python-env';
import { kitSettings, REPO_ROOT } from './real-mlflow/kit';

const run = promisify(execFile);

/**
 * A Python virtualenv as a data scientist's machine has it: the logged model's own requirements.txt
 * (Keras, JAX, Pillow, MLflow) installed with a plain `pip install`, so the tests load and serve
 * the models with MLflow's and Keras' real code. Where the MLflow kit is beside the repository
 * (../shared/mlflow-server), MLflow comes from its wheels first, the version the tracking server
 * runs. Made once per checkout in `.python-venv/` (gitignored) and remade when the requirements
 * change; a lock lets parallel jest workers share it.
 */
export const VENV_DIR = path.join(REPO_ROOT, '.python-venv');
const LOCK_DIR = `${VENV_DIR}.lock`;
const READY_FILE = path.join(VENV_DIR, 'ready');
/** About 5 minutes on a quiet machine (mostly pip's retries of an unreachable default index); 20 were not enough at a load of 25 on 2 cores. */
export const VENV_TIMEOUT_MS = 40 * 60_000;

export interface PythonVenv {
  /** The venv's `python`. */
  readonly python: string;
  /** The environment for a command of the venv: its bin/ first on PATH (`mlflow models serve` runs `uvicorn` from there). */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
}

/** A Python 3.11 to make the venv with (the kit's wheels are for 3.11), or why there is none. */
export function basePython(): { python?: string; reason?: string } {
  for (const candidate of [process.env.MLFLOW_SERVER_PYTHON, 'python3.11', 'python3'].filter(Boolean) as string[]) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; print("%d.%d" % sys.version_info[:2])'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === '3.11') return { python: candidate };
  }
  return { reason: 'no Python 3.11 with venv (python3.11 or python3): install python3.11 and python3.11-venv' };
}

function venvKey(): string {
  const kit = kitSettings();
  const kitRequirements = kit ? readFileSync(path.join(path.dirname(kit.script), 'requirements.txt'), 'utf8') : 'no kit';
  return createHash('sha256').update(environmentFiles()[ENVIRONMENT_FILES.requirements]).update(kitRequirements).digest('hex');
}

function venv(): PythonVenv {
  const bin = path.join(VENV_DIR, 'bin');
  return {
    python: path.join(bin, 'python'),
    env: (extra = {}) => {
      // The loader chooses Keras' backend itself when none is set; a developer's own setting (say,
      // TensorFlow, which this venv lacks) must not decide for the tests.
      const { KERAS_BACKEND: _backend, VIRTUAL_ENV: _active, ...rest } = process.env;
      return { ...rest, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`, PYTHONDONTWRITEBYTECODE: '1', ...extra };
    },
  };
}

async function pip(python: string, args: readonly string[]): Promise<void> {
  try {
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', ...args], { maxBuffer: 64 * 1024 * 1024, timeout: VENV_TIMEOUT_MS });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; killed?: boolean; message: string };
    const why = e.killed ? `did not finish in ${VENV_TIMEOUT_MS / 60_000} min` : 'failed';
    throw new Error(`pip install ${args.join(' ')} ${why} in ${VENV_DIR}:\n${`${e.stdout ?? ''}\n${e.stderr ?? ''}`.trim().slice(-4000) || e.message}`);
  }
}

async function create(base: string, key: string): Promise<void> {
  rmSync(VENV_DIR, { recursive: true, force: true });
  await run(base, ['-m', 'venv', VENV_DIR]);
  const python = venv().python;
  const kit = kitSettings();
  if (kit) {
    const kitDir = path.dirname(kit.script);
    await pip(python, ['--no-index', '--find-links', path.join(kitDir, 'wheels'), '-r', path.join(kitDir, 'requirements.txt')]);
  }
  const requirements = path.join(VENV_DIR, ENVIRONMENT_FILES.requirements);
  writeFileSync(requirements, environmentFiles()[ENVIRONMENT_FILES.requirements]);
  await pip(python, ['-r', requirements]);
  writeFileSync(READY_FILE, key);
}

async function withLock<T>(task: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + VENV_TIMEOUT_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      // A lock older than any install is left over from a killed run.
      if (existsSync(LOCK_DIR) && Date.now() - statSync(LOCK_DIR).mtimeMs > VENV_TIMEOUT_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${LOCK_DIR} held for ${VENV_TIMEOUT_MS / 60_000} min; remove it if no test runs`);
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  try {
    return await task();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** The venv, made (minutes) or remade (when the requirements changed) first if need be. */
export async function pythonVenv(): Promise<PythonVenv> {
  const { python: base, reason } = basePython();
  if (!base) throw new Error(reason);
  const key = venvKey();
  const ready = () => existsSync(READY_FILE) && readFileSync(READY_FILE, 'utf8') === key;
  if (!ready()) await withLock(async () => (ready() ? undefined : create(base, key)));
  return venv();
}

export interface PythonResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface VenvCommandOptions {
  readonly input?: string;
  /** @default the repository */
  readonly cwd?: string;
  /** Added to the venv's environment (MLflow's tracking variables). */
  readonly env?: NodeJS.ProcessEnv;
  /** @default 600 s */
  readonly timeoutMs?: number;
}

/** Runs a command of the venv (`python`, `mlflow`...), `input` on its stdin. */
export function runInVenv(venv: PythonVenv, command: string, args: readonly string[], options: VenvCommandOptions = {}): Promise<PythonResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: venv.env(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a Python script of test/support/pyfunc/ in the venv, `input` on its stdin. */
export function runPython(venv: PythonVenv, script: string, args: readonly string[], input = '', env: NodeJS.ProcessEnv = {}): Promise<PythonResult> {
  return runInVenv(venv, venv.python, [path.join(__dirname, 'pyfunc', script), ...args], { input, env });
}

/**
 * Whether the Python tests can run here, said before they are defined: they are skipped, with the
 * reason in their names, only on a machine without Python 3.11, and never in CI
 * (MLFLOW_TEST_REQUIRE_SERVER=1), where that is an error. A missing package is never a skip: the
 * venv's pip install fails the tests that need it.
 */
export function pythonSkipReason(): string | undefined {
  const { reason } = basePython();
  if (reason && process.env.MLFLOW_TEST_REQUIRE_SERVER === '1') throw new Error(`MLFLOW_TEST_REQUIRE_SERVER=1 but ${reason}`);
  return reason;
}
