import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { MLFLOW_IMAGE_DIR } from '../../lib/mlflow-service';

const read = (name: string) => readFileSync(path.join(MLFLOW_IMAGE_DIR, name), 'utf8');

describe('mlflow-stack image', () => {
  test('pins mlflow 3.11.x with basic-auth support, psycopg2 and boto3', () => {
    const requirements = read('requirements.txt').split('\n').filter((line) => line && !line.startsWith('#'));
    expect(requirements).toEqual(['mlflow[auth]==3.11.*', 'psycopg2-binary==2.9.*', 'boto3==1.*']);
    expect(read('Dockerfile')).toMatch(/^USER mlflow$/m);
  });
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

/**
 * The entrypoint runs under python3 with a stand-in psycopg2 (records what it is asked) and a
 * stand-in `mlflow` on PATH (records its arguments and reads the auth file the way MLflow does).
 */
const python = spawnSync('python3', ['--version']).status === 0;
(python ? describe : describe.skip)(python ? 'entrypoint.py' : 'SKIPPED: entrypoint.py needs python3 on PATH', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(path.join(tmpdir(), 'mlflow-entrypoint-'));
    mkdirSync(path.join(work, 'psycopg2'));
    writeFileSync(path.join(work, 'psycopg2', '__init__.py'), `import json, os
class OperationalError(Exception):
    pass
def _log(entry):
    with open(os.environ["FAKE_PG_LOG"], "a") as f:
        f.write(json.dumps(entry) + "\\n")
class _Cursor:
    def __enter__(self): return self
    def __exit__(self, *args): pass
    def execute(self, query, params=None): _log(["execute", str(query), params])
    def fetchone(self): return (1,) if os.environ.get("FAKE_PG_AUTH_EXISTS") else None
class _Connection:
    autocommit = False
    def cursor(self): return _Cursor()
    def close(self): pass
def connect(uri, connect_timeout=None):
    _log(["connect", uri])
    return _Connection()
`);
    writeFileSync(path.join(work, 'psycopg2', 'sql.py'), `class Identifier:
    def __init__(self, name): self.name = name
    def __str__(self): return '"%s"' % self.name
class SQL:
    def __init__(self, text): self.text = text
    def format(self, *args): return SQL(self.text.format(*[str(a) for a in args]))
    def __str__(self): return self.text
`);
    const mlflow = path.join(work, 'mlflow');
    writeFileSync(mlflow, `#!/usr/bin/env python3
import configparser, json, os, sys
config = configparser.ConfigParser()  # with interpolation, as mlflow.server.auth reads it
config.read(os.environ["MLFLOW_AUTH_CONFIG_PATH"])
json.dump({"argv": sys.argv[1:], "auth": dict(config["mlflow"]), "flask_key": len(os.environ.get("MLFLOW_FLASK_SERVER_SECRET_KEY", ""))},
          open(os.environ["FAKE_MLFLOW_OUT"], "w"))
`);
    chmodSync(mlflow, 0o755);
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  const ENV = {
    DB_HOST: 'db.internal', DB_PORT: '5432', DB_NAME: 'mlflow', DB_USERNAME: 'mlflow', DB_PASSWORD: 'p@ss%word,1',
    DB_SSLMODE: 'require', MLFLOW_ARTIFACTS_DESTINATION: 's3://bucket/mlflow-artifacts', MLFLOW_ADMIN_PASSWORD: 'a-long-generated-password',
    MLFLOW_ALLOWED_HOSTS: 'internal-x.elb.amazonaws.com,localhost:*',
  };

  function start(overrides: Record<string, string | undefined> = {}) {
    const log = path.join(work, `pg-${Math.random()}.log`);
    const out = path.join(work, `mlflow-${Math.random()}.json`);
    const result = spawnSync('python3', [path.join(MLFLOW_IMAGE_DIR, 'entrypoint.py')], {
      encoding: 'utf8',
      env: {
        PATH: `${work}:${process.env.PATH}`, PYTHONPATH: work, FAKE_PG_LOG: log, FAKE_MLFLOW_OUT: out,
        MLFLOW_AUTH_CONFIG_PATH: path.join(work, `auth-${Math.random()}.ini`), ...ENV, ...overrides,
      },
    });
    const readOr = (file: string, fallback: string) => { try { return readFileSync(file, 'utf8'); } catch { return fallback; } };
    return { result, database: readOr(log, '').split('\n').filter(Boolean).map((l) => JSON.parse(l)), mlflow: JSON.parse(readOr(out, 'null')) };
  }

  test('starts mlflow server on PostgreSQL and S3, serving artifacts, with basic-auth and the allowed hosts', () => {
    const { result, mlflow } = start();
    expect(result.status).toBe(0);
    const uri = 'postgresql://mlflow:p%40ss%25word%2C1@db.internal:5432/mlflow?sslmode=require';
    expect(mlflow.argv).toEqual(['server', '--host', '0.0.0.0', '--port', '5000', '--workers', '2',
      '--backend-store-uri', uri, '--artifacts-destination', 's3://bucket/mlflow-artifacts', '--serve-artifacts',
      '--app-name', 'basic-auth', '--allowed-hosts', 'internal-x.elb.amazonaws.com,localhost:*']);
    expect(mlflow.flask_key).toBe(64);
  });

  test('keeps basic-auth users in their own PostgreSQL database, with the given admin password', () => {
    const { mlflow, database } = start();
    expect(mlflow.auth).toEqual({
      default_permission: 'READ',
      database_uri: 'postgresql://mlflow:p%40ss%25word%2C1@db.internal:5432/mlflow_auth?sslmode=require',
      admin_username: 'admin',
      admin_password: 'a-long-generated-password',
      authorization_function: 'mlflow.server.auth:authenticate_request_basic_auth',
    });
    expect(database).toContainEqual(['execute', 'CREATE DATABASE "mlflow_auth"', null]);
  });

  test('leaves an existing auth database alone', () => {
    const { database } = start({ FAKE_PG_AUTH_EXISTS: '1' });
    expect(database.filter((entry) => String(entry[1]).startsWith('CREATE'))).toEqual([]);
  });

  test.each([
    [{ MLFLOW_ADMIN_PASSWORD: 'password1234' }, /must have at least 12 characters and not be MLflow's default/],
    [{ MLFLOW_ADMIN_PASSWORD: 'short' }, /must have at least 12 characters/],
    [{ MLFLOW_ADMIN_PASSWORD: undefined }, /set MLFLOW_ADMIN_PASSWORD/],
    [{ DB_HOST: undefined }, /set DB_HOST/],
  ])('refuses to start with %j', (overrides, message) => {
    const { result, mlflow } = start(overrides);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(message);
    expect(mlflow).toBeNull();
  });
});
