import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { loadConfig } from '../../lib/config';
import { probeDocker } from '../../lib/docker-probe';
import { dockerMissingMessage, imagesBuiltLocally } from '../../lib/local-image-builds';
import { buildApp } from './build-app';

const TRAINER = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/malaria/trainer@sha256:${'a'.repeat(64)}`;
const MLFLOW = `ghcr.io/acme/mlflow@sha256:${'b'.repeat(64)}`;
const ROOT = path.join(__dirname, '../..');
const run = promisify(execFile);
const NO_DOCKER = '`docker` is not installed here (not found on PATH)';

describe('which images cdk deploy builds with Docker here', () => {
  test.each([
    ['no prebuilt image', {}, ['trainer', 'mlflow']],
    ['a prebuilt trainer image', { trainerImage: TRAINER }, ['mlflow']],
    ['a prebuilt MLflow image', { mlflowImage: MLFLOW }, ['trainer']],
    ['both prebuilt', { trainerImage: TRAINER, mlflowImage: MLFLOW }, []],
    ['imageBuild=codebuild', { imageBuild: 'codebuild' }, []],
  ])('%s: %j, as many as the synthesized templates hold Docker image assets', (_name, context, expected) => {
    const images = loadConfig(context).images;
    expect(imagesBuiltLocally(images)).toEqual(expected);
    const manifests = buildApp(context).app.synth().artifacts.filter((a): a is AssetManifestArtifact => a instanceof AssetManifestArtifact);
    expect(manifests.reduce((sum, m) => sum + Object.keys(m.contents.dockerImages ?? {}).length, 0)).toBe(expected.length);
  });
});

describe('without Docker', () => {
  test('one prebuilt image given: names the image that still needs building and the two ways out', () => {
    expect(dockerMissingMessage(loadConfig({ trainerImage: TRAINER }).images, NO_DOCKER)).toBe(
      'cdk deploy builds the MLflow image (mlflow-stack/) with Docker on this machine, and `docker` is not installed here (not found on PATH). '
      + 'The trainer image is prebuilt (trainerImage). Two ways out: -c mlflowImage=<registry>/<repository>@sha256:<digest> '
      + '(an image built elsewhere, e.g. in CI: docs/cloud.md, "The images: three ways"), or -c imageBuild=codebuild (built in AWS CodeBuild during the deploy, no Docker needed).',
    );
  });

  test('no prebuilt image: both images and both flags', () => {
    const message = dockerMissingMessage(loadConfig({}).images, NO_DOCKER);
    expect(message).toMatch(/^cdk deploy builds the trainer image \(trainer\/Dockerfile\) and the MLflow image \(mlflow-stack\/\) with Docker/);
    expect(message).toContain('Two ways out: -c trainerImage=<registry>/<repository>@sha256:<digest> -c mlflowImage=<registry>/<repository>@sha256:<digest> (images built elsewhere');
  });

  test('nothing to say when nothing is built here', () => {
    expect(dockerMissingMessage(loadConfig({ imageBuild: 'codebuild' }).images, NO_DOCKER)).toBeUndefined();
    expect(dockerMissingMessage(loadConfig({ trainerImage: TRAINER, mlflowImage: MLFLOW }).images, NO_DOCKER)).toBeUndefined();
  });
});

describe('probeDocker', () => {
  const fakeDocker = (script: string) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'docker-')), 'docker');
    writeFileSync(file, `#!/bin/sh\n${script}\n`);
    chmodSync(file, 0o755);
    return file;
  };

  test('a running daemon: available, with its version', () => {
    expect(probeDocker(fakeDocker('echo 27.3.1'))).toEqual({ available: true, serverVersion: '27.3.1' });
  });

  test('no docker command: says it is not installed', () => {
    expect(probeDocker('/nonexistent/docker')).toEqual({ available: false, problem: '`/nonexistent/docker` is not installed here (not found on PATH)' });
  });

  test('a client without its daemon: says so, with what the client said and how to start it', () => {
    const docker = fakeDocker('echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1');
    const state = probeDocker(docker);
    expect(state).toEqual({ available: false, problem: expect.stringMatching(/is installed but its daemon does not answer \(Cannot connect to the Docker daemon.*\): start Docker Desktop/) });
  });
});

test('npx cdk synth with one prebuilt image and no Docker warns which image still needs building, before CDK\'s own error could', async () => {
  // As a user types it, from the project root; CDK_DOCKER is where the CDK CLI (and the app) look for Docker.
  const out = mkdtempSync(path.join(tmpdir(), 'cdk-out-'));
  const result = await run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '-o', out, '-c', `trainerImage=${TRAINER}`], {
    // CDK's template validation is left out: it takes seconds and has nothing to do with images.
    cwd: ROOT, env: { ...process.env, CDK_DOCKER: '/nonexistent/docker', AWS_REGION: 'eu-west-1', CDK_VALIDATION: 'false' }, timeout: 280_000,
  });
  expect(result.stderr).toContain('warning: cdk deploy builds the MLflow image (mlflow-stack/) with Docker on this machine, '
    + 'and `/nonexistent/docker` is not installed here (not found on PATH). The trainer image is prebuilt (trainerImage). Two ways out: -c mlflowImage=');
  // A synth through the CLI takes 5 s on an idle machine, minutes on a shared one.
}, 300_000);
