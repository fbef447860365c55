import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ENTRYPOINT_ADMIN, startEntrypointServer, stopEntrypointServer } from './entrypoint-server';
import { kit, kitSettings, type KitSettings } from './kit';

/**
 * The real MLflow servers the suite runs against, started once per jest run:
 * - plain: the kit's `mlflow server` without auth (what a user's own server often is);
 * - auth: `mlflow-stack/entrypoint.py` as the image runs it, basic-auth, artifacts in S3.
 * Tests find them in the environment (MLFLOW_TEST_URI, MLFLOW_TEST_AUTH_URI); a person can set
 * those to servers of their own instead, and nothing is started.
 */
export const ENV = {
  plain: 'MLFLOW_TEST_URI',
  auth: 'MLFLOW_TEST_AUTH_URI',
  entrypointHome: 'MLFLOW_TEST_ENTRYPOINT_HOME',
  entrypointPython: 'MLFLOW_TEST_ENTRYPOINT_PYTHON',
  skipReason: 'MLFLOW_TEST_SKIP_REASON',
  started: 'MLFLOW_TEST_STARTED',
} as const;

export const ENTRYPOINT_SERVER_NAME = 'entrypoint';

function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString().replace(/\/$/, '');
}

export interface StartedServers {
  /** Lines for the person running the tests. */
  readonly summary: string;
}

/**
 * Starts what is missing and exports the servers' addresses. Without the kit and without
 * addresses given, the real-server tests are skipped, with the reason in their names, unless
 * MLFLOW_TEST_REQUIRE_SERVER=1 (CI), where that is an error.
 */
export async function startRealMlflow(env: NodeJS.ProcessEnv = process.env): Promise<StartedServers> {
  if (env[ENV.plain] || env[ENV.auth]) {
    return { summary: `real MLflow given: ${[env[ENV.plain], env[ENV.auth]?.replace(/\/\/[^@]*@/, '//***@')].filter(Boolean).join(', ')}` };
  }
  const settings = kitSettings(env);
  if (!settings) {
    const reason = 'no real MLflow server: set MLFLOW_TEST_URI (and MLFLOW_TEST_AUTH_URI=http://admin:password@host:port for basic-auth), or MLFLOW_SERVER_KIT to the mlflow-server kit';
    if (env.MLFLOW_TEST_REQUIRE_SERVER === '1') throw new Error(`MLFLOW_TEST_REQUIRE_SERVER=1 but ${reason}`);
    env[ENV.skipReason] = reason;
    return { summary: `real-MLflow tests skipped: ${reason}` };
  }
  const t0 = Date.now();
  // PostgreSQL first: both servers need it, and the kit's start/stop lock would serialize them anyway.
  await kit(settings, 'start-pg');
  const [plain, auth] = await Promise.all([
    kit(settings, 'start', { MLFLOW_SERVER_AUTH: '0', MLFLOW_SERVER_WORKERS: env.MLFLOW_SERVER_WORKERS ?? '1' }),
    startEntrypointServer(settings, { port: settings.authPort, name: ENTRYPOINT_SERVER_NAME }),
  ]);
  env[ENV.plain] = plain.stdout.trim();
  env[ENV.auth] = withCredentials(auth.url, ENTRYPOINT_ADMIN.username, ENTRYPOINT_ADMIN.password);
  env[ENV.entrypointHome] = auth.home;
  env[ENV.entrypointPython] = auth.python;
  env[ENV.started] = '1';
  registerUser(settings);
  return {
    summary: `real MLflow 3.11 on PostgreSQL (${((Date.now() - t0) / 1000).toFixed(0)} s): ${env[ENV.plain]} (no auth), ${auth.url} (mlflow-stack/entrypoint.py, basic-auth)`,
  };
}

/**
 * Stops what startRealMlflow started, unless MLFLOW_TEST_KEEP_SERVER=1 (then the next run reuses
 * it) or another jest run of this checkout still uses the servers (it found them up and reused them).
 */
export async function stopRealMlflow(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = kitSettings(env);
  if (!settings || env[ENV.started] !== '1') return;
  if (otherUsers(settings) || env.MLFLOW_TEST_KEEP_SERVER === '1') return;
  await stopKitServers(settings);
}

/** Jest runs using the servers: one file per process, named by its pid, under the kit's home. */
function usersDir(settings: KitSettings): string {
  return path.join(settings.home, 'users');
}

function registerUser(settings: KitSettings): void {
  mkdirSync(usersDir(settings), { recursive: true });
  writeFileSync(path.join(usersDir(settings), String(process.pid)), '');
}

/** Forgets this process and says whether another live one still uses the servers. */
function otherUsers(settings: KitSettings): boolean {
  rmSync(path.join(usersDir(settings), String(process.pid)), { force: true });
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const pids = existsSync(usersDir(settings)) ? readdirSync(usersDir(settings)).map(Number) : [];
  for (const pid of pids.filter((p) => !alive(p))) rmSync(path.join(usersDir(settings), String(pid)), { force: true });
  return pids.some(alive);
}

export async function stopKitServers(settings: KitSettings): Promise<void> {
  await stopEntrypointServer(settings, { name: ENTRYPOINT_SERVER_NAME, port: settings.authPort });
  await kit(settings, 'stop');
}
