import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../free-port';
import { type BackgroundProcess, isAlive, logTail, runningPid, startBackground, stopBackground } from './background-process';
import { kitEnv, type KitSettings, REPO_ROOT } from './kit';

const run = promisify(execFile);

export const ENTRYPOINT = path.join(REPO_ROOT, 'mlflow-stack', 'entrypoint.py');
export const ENTRYPOINT_ADMIN = { username: 'admin', password: 'entrypoint-admin-password' } as const;
const ARTIFACT_BUCKET = 'mlflow';

export interface EntrypointServerOptions {
  readonly port: number;
  /** State folder below the kit's home, and the name of the tracking database. */
  readonly name: string;
  /** MLFLOW_AUTH_CACHE_TTL; unset: the entrypoint's default. */
  readonly authCacheTtl?: number;
}

export interface EntrypointServer {
  readonly url: string;
  /** Holds basic-auth.ini, mlflow.log and the S3 store. */
  readonly home: string;
  /** The kit's Python, which has what the entrypoint imports. */
  readonly python: string;
  /** False when a server left running by an earlier run answered and was reused. */
  readonly started: boolean;
}

interface Processes {
  readonly mlflow: BackgroundProcess;
  readonly s3: BackgroundProcess;
  /** What their command lines hold: the entrypoint (before it becomes `mlflow server`) or the port; the S3 folder. */
  readonly mlflowMarkers: readonly string[];
  readonly s3Markers: readonly string[];
}

function processes(home: string, port: number): Processes {
  return {
    mlflow: { pidFile: path.join(home, 'mlflow.pid'), logFile: path.join(home, 'mlflow.log') },
    s3: { pidFile: path.join(home, 's3rver.pid'), logFile: path.join(home, 's3rver.log') },
    mlflowMarkers: [ENTRYPOINT, `--port ${port} `],
    s3Markers: [path.join(home, 's3')],
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function waitFor(what: string, ready: () => Promise<boolean>, pid: number, log: BackgroundProcess, seconds: number): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await ready())) {
    if (!isAlive(pid)) throw new Error(`${what} exited at start:\n${logTail(log)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not answer within ${seconds} s:\n${logTail(log)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** s3rver in its own process: the artifact store behind the server, as S3 is in the cloud. */
async function startS3(home: string, proc: BackgroundProcess): Promise<string> {
  const port = await freePort();
  const pid = startBackground(proc, process.execPath, [path.join(__dirname, 's3rver-main.js'), String(port), path.join(home, 's3'), ARTIFACT_BUCKET], { cwd: REPO_ROOT, env: process.env });
  // Loading s3rver alone took 52 s on a machine with a load of 30 (2 cores, many test runs).
  await waitFor('s3rver', async () => logTail(proc, 5).includes('ready'), pid, proc, 180);
  return `http://127.0.0.1:${port}`;
}

/**
 * A new, empty tracking database for this server (RDS creates it on AWS), and no auth database:
 * every start is a first start, so the entrypoint's database creation and migration run each time.
 */
async function freshDatabase(python: string, env: Record<string, string>, name: string): Promise<void> {
  const script = `
import os, sys, psycopg2
conn = psycopg2.connect(host=os.environ["PGHOST"], port=os.environ["PGPORT"], user=os.environ["PGUSER"], password=os.environ["PGPASSWORD"], dbname="postgres")
conn.autocommit = True
name = sys.argv[1]
with conn.cursor() as cur:
    cur.execute('DROP DATABASE IF EXISTS "%s_auth" WITH (FORCE)' % name)
    cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
    cur.execute('CREATE DATABASE "%s"' % name)
`;
  await run(python, ['-c', script, name], { env: { ...process.env, ...env } });
}

/**
 * MLflow started the way the image starts it: `mlflow-stack/entrypoint.py`, with the kit's
 * Python environment and PostgreSQL, basic-auth, two workers, and artifacts in an S3 bucket
 * served through the server. The kit's PostgreSQL must be running (`start-pg`).
 */
export async function startEntrypointServer(kit: KitSettings, options: EntrypointServerOptions): Promise<EntrypointServer> {
  const home = path.join(kit.home, options.name);
  const url = `http://127.0.0.1:${options.port}`;
  mkdirSync(home, { recursive: true });
  const proc = processes(home, options.port);
  const env = await kitEnv(kit);
  const python = path.join(env.MLFLOW_SERVER_VENV, 'bin', 'python');
  if (runningPid(proc.mlflow, proc.mlflowMarkers) !== undefined && (await healthy(url))) return { url, home, python, started: false };
  await stopEntrypointServer(kit, options);

  await freshDatabase(python, env, options.name);
  rmSync(path.join(home, 's3'), { recursive: true, force: true });
  const s3 = await startS3(home, proc.s3);
  const pid = startBackground(proc.mlflow, python, [ENTRYPOINT], {
    cwd: home,
    env: {
      PATH: `${path.join(env.MLFLOW_SERVER_VENV, 'bin')}:${process.env.PATH}`,
      HOME: home,
      DB_HOST: env.PGHOST,
      DB_PORT: env.PGPORT,
      DB_NAME: options.name,
      DB_USERNAME: env.PGUSER,
      DB_PASSWORD: env.PGPASSWORD,
      MLFLOW_ARTIFACTS_DESTINATION: `s3://${ARTIFACT_BUCKET}/artifacts`,
      MLFLOW_S3_ENDPOINT_URL: s3,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_DEFAULT_REGION: 'us-east-1',
      MLFLOW_ADMIN_USERNAME: ENTRYPOINT_ADMIN.username,
      MLFLOW_ADMIN_PASSWORD: ENTRYPOINT_ADMIN.password,
      // Any port: tests reach it through proxies on loopback too.
      MLFLOW_ALLOWED_HOSTS: '127.0.0.1:*,localhost:*',
      MLFLOW_HOST: '127.0.0.1',
      MLFLOW_PORT: String(options.port),
      MLFLOW_WORKERS: '2',
      MLFLOW_AUTH_CONFIG_PATH: path.join(home, 'basic-auth.ini'),
      ...(options.authCacheTtl === undefined ? {} : { MLFLOW_AUTH_CACHE_TTL: String(options.authCacheTtl) }),
      // The kit leaves out the job runner (huey) and never calls home.
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
      MLFLOW_DISABLE_TELEMETRY: 'true',
      DO_NOT_TRACK: 'true',
    },
  });
  try {
    await waitFor(`mlflow-stack/entrypoint.py (log: ${proc.mlflow.logFile})`, () => healthy(url), pid, proc.mlflow, 180);
  } catch (error) {
    await stopEntrypointServer(kit, options);
    throw error;
  }
  return { url, home, python, started: true };
}

export async function stopEntrypointServer(kit: KitSettings, options: Pick<EntrypointServerOptions, 'name' | 'port'>): Promise<void> {
  const proc = processes(path.join(kit.home, options.name), options.port);
  await stopBackground(proc.mlflow, proc.mlflowMarkers);
  await stopBackground(proc.s3, proc.s3Markers);
}
