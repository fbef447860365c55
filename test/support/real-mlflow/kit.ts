import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

/**
 * The shared MLflow server kit (`../shared/mlflow-server/`: MLflow 3.11 and PostgreSQL, offline)
 * and the settings it reads. Ports come from the kit's own variables so that two checkouts on
 * one machine can run their suites at once.
 */
export interface KitSettings {
  /** The kit's `mlflow-server` script. */
  readonly script: string;
  /** MLFLOW_SERVER_HOME: venv, PostgreSQL cluster, logs. */
  readonly home: string;
  /** The plain (no auth) server: MLFLOW_SERVER_PORT. */
  readonly port: number;
  /** The server started through mlflow-stack/entrypoint.py, with basic-auth: the next port. */
  readonly authPort: number;
  readonly pgPort: number;
}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > 65534) throw new Error(`${name} must be a port number, got '${env[name]}'`);
  return value;
}

/** The kit's settings, or undefined when this machine has no kit (a clone without ../shared). */
export function kitSettings(env: NodeJS.ProcessEnv = process.env): KitSettings | undefined {
  const script = env.MLFLOW_SERVER_KIT ?? path.resolve(REPO_ROOT, '..', 'shared', 'mlflow-server', 'mlflow-server');
  if (!existsSync(script)) return undefined;
  const port = portFrom(env, 'MLFLOW_SERVER_PORT', 5055);
  return {
    script,
    home: path.resolve(env.MLFLOW_SERVER_HOME ?? path.join(REPO_ROOT, '.mlflow-server')),
    port,
    authPort: port + 1,
    pgPort: portFrom(env, 'MLFLOW_SERVER_PG_PORT', 55432),
  };
}

/** Runs one kit command with the settings; its log lines are returned, not printed. */
export async function kit(settings: KitSettings, command: 'start' | 'start-pg' | 'stop' | 'env', extraEnv: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    MLFLOW_SERVER_HOME: settings.home,
    MLFLOW_SERVER_PORT: String(settings.port),
    MLFLOW_SERVER_PG_PORT: String(settings.pgPort),
    ...extraEnv,
  };
  try {
    return await run(settings.script, [command], { env, cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${settings.script} ${command} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** Whether the kit's PostgreSQL (and its own MLflow) run now. */
export async function kitStatus(settings: KitSettings): Promise<{ mlflow: boolean; postgres: boolean }> {
  const env = { ...process.env, MLFLOW_SERVER_HOME: settings.home, MLFLOW_SERVER_PORT: String(settings.port), MLFLOW_SERVER_PG_PORT: String(settings.pgPort) };
  // Exit 3 while MLflow is stopped: the answer is in stdout either way.
  const stdout = await run(settings.script, ['status'], { env, cwd: REPO_ROOT }).then((r) => r.stdout, (e: { stdout?: string }) => e.stdout ?? '');
  return { mlflow: /^mlflow: running/m.test(stdout), postgres: /^postgres: running/m.test(stdout) };
}

/** The kit's `env` exports (venv, database URIs, PG* variables) as a record. */
export async function kitEnv(settings: KitSettings): Promise<Record<string, string>> {
  const { stdout } = await kit(settings, 'env');
  const vars: Record<string, string> = {};
  for (const match of stdout.matchAll(/(\w+)=('[^']*'|\S+)/g)) vars[match[1]] = match[2].replace(/^'|'$/g, '');
  return vars;
}
