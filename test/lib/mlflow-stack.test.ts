import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import * as path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { MLFLOW_IMAGE_DIR } from '../../lib/mlflow-service';
import { authMlflow } from '../support/real-mlflow';
import { ENTRYPOINT } from '../support/real-mlflow/entrypoint-server';
import { kitSettings } from '../support/real-mlflow/kit';
import { ENV } from '../support/real-mlflow/servers';

const read = (name: string) => readFileSync(path.join(MLFLOW_IMAGE_DIR, name), 'utf8');

/** `name==version` lines of a requirements file, names normalized as pip does. */
function pins(text: string): Map<string, string> {
  const entries = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const match = /^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)/.exec(line);
      if (!match) throw new Error(`not an exact pin: ${line}`);
      return [match[1].toLowerCase().replace(/[._]/g, '-'), match[2]] as const;
    });
  return new Map(entries);
}

describe('mlflow-stack image', () => {
  const lock = pins(read('requirements.lock'));

  test('the lock pins every package exactly, once: MLflow 3.11 with basic-auth, psycopg2 and boto3', () => {
    const names = read('requirements.lock').split('\n').filter((l) => /^[a-z]/i.test(l)).map((l) => l.split('==')[0]);
    expect(new Set(names).size).toBe(names.length);
    expect(lock.get('mlflow')).toMatch(/^3\.11\.\d+$/);
    expect(lock.get('mlflow-skinny')).toBe(lock.get('mlflow'));
    for (const name of ['flask-wtf', 'psycopg2-binary', 'sqlalchemy', 'alembic', 'boto3', 'gunicorn', 'uvicorn']) expect(lock.get(name)).toBeDefined();
  });

  test('every pin of requirements.txt is in the lock at the same version', () => {
    for (const [name, version] of pins(read('requirements.txt'))) expect([name, lock.get(name)]).toEqual([name, version]);
  });

  test('installs the lock alone: wheels only, no resolving, checked, on a base pinned by digest', () => {
    const dockerfile = DockerfileParser.parse(read('Dockerfile'));
    const [from] = dockerfile.getFROMs();
    expect(from.getImageDigest()).toMatch(/^sha256:[0-9a-f]{64}$/);
    const install = dockerfile.getInstructions().find((i) => i.getKeyword() === 'RUN' && i.toString().includes('pip install'))?.toString() ?? '';
    expect(install).toMatch(/pip install --no-deps --only-binary=:all: --requirement \/tmp\/requirements\.lock/);
    expect(install).toMatch(/&& pip check/);
    expect(read('Dockerfile')).not.toMatch(/requirements\.txt/);
    expect(read('Dockerfile')).toMatch(/^USER mlflow$/m);
  });

  // The tests start the entrypoint with the kit's Python: its database stack must be the image's.
  const kit = kitSettings();
  (kit ? test : test.skip)(
    kit ? 'SQLAlchemy, psycopg2, alembic and Flask-WTF are the versions the test kit runs' : 'SKIPPED (no ../shared/mlflow-server kit): lock and kit versions agree',
    () => {
      const kitPins = pins(readFileSync(path.join(path.dirname(kit?.script ?? ''), 'requirements.txt'), 'utf8'));
      for (const name of ['sqlalchemy', 'psycopg2-binary', 'alembic', 'flask-wtf']) {
        expect([name, lock.get(name)]).toEqual([name, kitPins.get(name)]);
      }
    },
  );
});

describe('docker-compose.yml', () => {
  // Compose applies YAML merge keys (<<: *anchor); js-yaml does when asked.
  const compose = load(read('docker-compose.yml'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as { services: Record<string, Record<string, any>> };

  test('runs the same server image with PostgreSQL and an S3-compatible store', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['create-bucket', 'minio', 'mlflow', 'postgres']);
    expect(compose.services.mlflow.build).toBe('.');
    expect(compose.services.postgres.image).toMatch(/^postgres:18/);
    expect(compose.services.minio.image).toMatch(/^minio\/minio:RELEASE\./);
    const env = compose.services.mlflow.environment;
    expect(env).toMatchObject({ DB_HOST: 'postgres', MLFLOW_ARTIFACTS_DESTINATION: 's3://mlflow/artifacts', MLFLOW_S3_ENDPOINT_URL: 'http://minio:9000' });
  });

  test('has no admin password of its own: compose refuses to start without one', () => {
    expect(compose.services.mlflow.environment.MLFLOW_ADMIN_PASSWORD).toMatch(/^\$\{MLFLOW_ADMIN_PASSWORD:\?/);
  });

  test('publishes MLflow on loopback only', () => {
    expect(compose.services.mlflow.ports).toEqual(['127.0.0.1:5000:5000']);
  });
});

/** GET with a chosen Host header (fetch does not let one set it). */
function getWithHost(url: string, pathname: string, host: string, authorization?: string): Promise<number> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path: pathname, headers: { host, ...(authorization ? { authorization } : {}) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

// The suite's basic-auth server is this entrypoint, started by jest's global setup
// (test/support/real-mlflow) with the kit's Python and PostgreSQL, two workers, artifacts in S3.
const home = process.env[ENV.entrypointHome];
const mlflow = authMlflow();
(home && mlflow ? describe : describe.skip)(
  home ? 'entrypoint.py starting the real MLflow 3.11 on PostgreSQL' : 'entrypoint.py on a real server (SKIPPED: the suite did not start one: needs the ../shared/mlflow-server kit)',
  () => {
    const log = () => readFileSync(path.join(home ?? '', 'mlflow.log'), 'utf8');
    const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

    test('creates and migrates the auth database and its admin once, then both workers start cleanly', () => {
      const text = log();
      expect(text).toContain('mlflow-entrypoint: created database entrypoint_auth');
      expect(text).toContain('mlflow-entrypoint: created the admin user admin');
      expect(text.indexOf('created the admin user')).toBeLessThan(text.indexOf('mlflow-entrypoint: starting MLflow'));
      expect(text.match(/Application startup complete/g)).toHaveLength(2);
      expect(text).not.toMatch(/Traceback|UniqueViolation|No module named 'psycopg'/);
    });

    test('names the psycopg2 driver in every database URI and caches checked logins', () => {
      const ini = path.join(home ?? '', 'basic-auth.ini');
      expect(statSync(ini).mode & 0o777).toBe(0o600);
      expect(readFileSync(ini, 'utf8')).toMatch(/^database_uri = postgresql\+psycopg2:\/\/mlflow:.*@127\.0\.0\.1:\d+\/entrypoint_auth\?sslmode=prefer$/m);
      expect(readFileSync(ini, 'utf8')).toMatch(/^auth_cache_ttl_seconds = 60$/m);
      const pid = readFileSync(path.join(home ?? '', 'mlflow.pid'), 'utf8').trim();
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(command.slice(0, 3).join(' ')).toMatch(/mlflow server$/);
      expect(command[command.indexOf('--backend-store-uri') + 1]).toMatch(/^postgresql\+psycopg2:\/\/mlflow:[^@]+@127\.0\.0\.1:\d+\/entrypoint\?sslmode=prefer$/);
    });

    test('the admin logs in with the configured password; none or a wrong one is 401; /health is open', async () => {
      const { url, admin } = mlflow!;
      const host = new URL(url).host;
      const search = '/api/2.0/mlflow/experiments/search?max_results=1';
      expect(await getWithHost(url, search, host, basic(admin!.username, admin!.password))).toBe(200);
      expect(await getWithHost(url, search, host)).toBe(401);
      expect(await getWithHost(url, search, host, basic(admin!.username, 'password1234'))).toBe(401);
      expect(await getWithHost(url, '/health', host)).toBe(200);
      expect(await (await fetch(`${url}/version`, { headers: { authorization: basic(admin!.username, admin!.password) } })).text()).toMatch(/^3\.11\./);
    });

    test('answers only to the allowed hosts (DNS rebinding)', async () => {
      const { url, admin } = mlflow!;
      const search = '/api/2.0/mlflow/experiments/search?max_results=1';
      expect(await getWithHost(url, search, 'attacker.example', basic(admin!.username, admin!.password))).toBe(403);
      expect(await getWithHost(url, search, `localhost:${new URL(url).port}`, basic(admin!.username, admin!.password))).toBe(200);
    });
  },
);

const python = process.env[ENV.entrypointPython];
(python ? describe : describe.skip)(python ? 'entrypoint.py settings' : 'entrypoint.py settings (SKIPPED: needs the kit\'s Python, with psycopg2 and MLflow)', () => {
  const ENV_OK = {
    DB_HOST: '127.0.0.1', DB_PORT: '1', DB_NAME: 'mlflow', DB_USERNAME: 'mlflow', DB_PASSWORD: 'p',
    MLFLOW_ARTIFACTS_DESTINATION: 's3://bucket/mlflow-artifacts', MLFLOW_ADMIN_PASSWORD: 'a-long-generated-password',
    MLFLOW_ALLOWED_HOSTS: 'localhost:*',
  };

  test.each([
    ["MLflow's default admin password", { MLFLOW_ADMIN_PASSWORD: 'password1234' }, /must have at least 12 characters and not be MLflow's default/],
    ['a short admin password', { MLFLOW_ADMIN_PASSWORD: 'short' }, /must have at least 12 characters/],
    ['no admin password', { MLFLOW_ADMIN_PASSWORD: undefined }, /set MLFLOW_ADMIN_PASSWORD/],
    ['a cache time that is not a number', { MLFLOW_AUTH_CACHE_TTL: 'soon' }, /MLFLOW_AUTH_CACHE_TTL must be a whole number, got 'soon'/],
    ['a negative worker count', { MLFLOW_WORKERS: '-1' }, /MLFLOW_WORKERS must be a whole number/],
    ['no database host', { DB_HOST: undefined }, /set DB_HOST/],
  ])('refuses to start with %s, before touching the database', (_what, overrides, message) => {
    const result = spawnSync(python ?? '', [ENTRYPOINT], { encoding: 'utf8', env: { PATH: process.env.PATH, ...ENV_OK, ...overrides } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/Traceback/);
  });
});
