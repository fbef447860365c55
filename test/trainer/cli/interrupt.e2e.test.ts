import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCheckpointStore } from '../../../trainer/src/cloud/checkpoint-store';
import { freePort } from '../../support/free-port';
import { startFakeImds, type FakeImds } from '../cloud/fake-imds';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';

/**
 * Stopping in the middle of an epoch, with epochs long enough to show it: vgg16 at 32 px in
 * batches of 8 trains a few images a second here, so its one epoch of 323 images lasts over a
 * minute, and stopping at its end instead of after the current step would be plain to see.
 */
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8'));
const PROGRESS_LINE = /epoch 1\/1  step (\d+)\/41 \(\d+%\)  loss \d+\.\d{3}  acc \d\.\d{3}  \d+ img\/s  epoch ETA \S+/;

let work: string;
let imds: FakeImds | undefined;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'interrupt-e2e-'));
});
afterEach(async () => {
  await imds?.stop();
  imds = undefined;
});
afterAll(() => rm(work, { recursive: true, force: true }));

const longEpoch = (name: string) => ['train', '--data', 'synthetic:400', '--model', 'vgg16', '--image-size', '32', '--batch-size', '8',
  '--epochs', '1', '--seed', '5', '--out', join(work, name, 'runs'), '--cache-dir', join(work, 'cache'),
  '--checkpoint-uri', join(work, name, 'checkpoints')];
const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1) as string;

test('SIGTERM in the middle of a long epoch stops after the current step: checkpoint, model, KILLED, exit 130', async () => {
  let signalledAt = 0;
  const result = await runCli(longEpoch('sigterm'), {
    env: { AWS_EC2_METADATA_DISABLED: 'true' },
    onStderr: (text, child) => {
      // Without a terminal, progress comes as plain lines during the epoch.
      if (!signalledAt && PROGRESS_LINE.test(text)) {
        signalledAt = Date.now();
        child.kill('SIGTERM');
      }
    },
  });
  const stopSeconds = (Date.now() - signalledAt) / 1000;
  expect(signalledAt).toBeGreaterThan(0);
  expect(result.code).toBe(130);
  expect(result.stderr).toContain('SIGTERM: stopping after this step');
  expect(result.stderr).toMatch(/epoch 1\/1 interrupted after step \d+ of 41/);
  // Seconds (the step in flight, the checkpoint and the model), not the rest of a minute-long epoch.
  expect(stopSeconds).toBeLessThan(30);

  const runDir = lastLine(result.stdout);
  expect(await readJson(join(runDir, 'run.json'))).toMatchObject({ status: 'KILLED' });
  expect(existsSync(join(runDir, 'model', 'model.json'))).toBe(true);
  const checkpoint = await createCheckpointStore(join(work, 'sigterm', 'checkpoints')).load();
  expect(checkpoint?.epoch).toBe(0);
  expect(checkpoint?.partial?.epoch).toBe(1);
  expect(checkpoint?.partial?.steps).toBeGreaterThanOrEqual(Number(PROGRESS_LINE.exec(result.stderr)?.[1]));
  expect(checkpoint?.partial?.steps).toBeLessThan(41);
});

test('a spot notice seen in the middle of an epoch checkpoints within seconds', async () => {
  imds = await startFakeImds({ instanceId: 'i-0abc', instanceType: 'g4dn.xlarge', lifecycle: 'spot' });
  const fake = imds;
  let noticeAt = 0;
  const result = await runCli(longEpoch('spot'), {
    env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: fake.endpoint },
    onStderr: (text) => {
      if (!noticeAt && PROGRESS_LINE.test(text)) {
        noticeAt = Date.now();
        fake.options.spotAction = JSON.stringify({ action: 'terminate', time: new Date(Date.now() + 120_000).toISOString() });
      }
    },
  });
  const seconds = (Date.now() - noticeAt) / 1000;
  expect(noticeAt).toBeGreaterThan(0);
  expect(result.stderr).toMatch(/spot interruption \(\{"action":"terminate"/);
  expect(result.stderr).toContain(`checkpoint written to ${join(work, 'spot', 'checkpoints')}`);
  expect(result.code).toBe(130);
  // The poll comes every 5 s; then the step in flight and the checkpoint: well inside the two minutes.
  expect(seconds).toBeLessThan(40);
  const checkpoint = await createCheckpointStore(join(work, 'spot', 'checkpoints')).load();
  expect(checkpoint?.partial?.epoch).toBe(1);
  expect(checkpoint?.partial?.steps).toBeLessThan(41);
});

test('a second signal quits at once, and the run record says KILLED, never RUNNING', async () => {
  const result = await runCli(['train', '--data', 'synthetic:400', '--model', 'micro', '--image-size', '48', '--batch-size', '8',
    '--epochs', '20', '--out', join(work, 'twice', 'runs'), '--cache-dir', join(work, 'cache')], {
    onStderr: (text, child) => {
      if (/epoch 1\/20  step/.test(text) && !child.killed) {
        child.kill('SIGTERM');
        child.kill('SIGINT');
      }
    },
  });
  expect(result.code).toBe(130);
  expect(result.stderr).toMatch(/(SIGINT|SIGTERM): quitting at once \(second stop request\)/);
  const runs = join(work, 'twice', 'runs');
  const [runName] = await readdir(runs);
  expect(await readJson(join(runs, runName, 'run.json'))).toMatchObject({ status: 'KILLED', error: 'stopped at once by a second interrupt' });
});

test('Ctrl-C while MLflow is waited for after training: says it stops waiting and keeps the outbox; exit 1, as tracking data is left unsent', async () => {
  const nowhere = `http://127.0.0.1:${await freePort()}`;
  let sent = false;
  const result = await runCli(['train', '--data', 'synthetic:200', '--model', 'micro', '--image-size', '32', '--epochs', '1',
    '--out', join(work, 'final', 'runs'), '--cache-dir', join(work, 'cache')], {
    env: { MLFLOW_TRACKING_URI: nowhere },
    onStderr: (text, child) => {
      if (!sent && text.includes('Ctrl-C skips tracking')) {
        sent = true;
        child.kill('SIGINT');
      }
    },
  });
  expect(sent).toBe(true);
  expect(result.code).toBe(1);
  expect(result.stderr).toContain('SIGINT: no more waiting for MLflow: what it has not received stays in the run folder (mlflow-outbox.jsonl) '
    + 'for npm run sync (again to quit at once)');
  expect(result.stderr).not.toContain('stopping after this step');
  const runDir = lastLine(result.stdout);
  expect(await readJson(join(runDir, 'run.json'))).toMatchObject({ status: 'FINISHED' });
  expect(existsSync(join(runDir, 'mlflow-outbox.jsonl'))).toBe(true);
  expect(result.stderr).toContain(`Send them later with:\n  npm run sync -- ${runDir}`);
});

test('a run stopped in the middle of an epoch resumes at the next step and finishes', async () => {
  const args = ['train', '--data', 'synthetic:400', '--model', 'cnn-3', '--image-size', '48', '--batch-size', '8', '--epochs', '2',
    '--patience', '0', '--seed', '6', '--out', join(work, 'resume', 'runs'), '--cache-dir', join(work, 'cache'),
    '--checkpoint-uri', join(work, 'resume', 'checkpoints')];
  const env = { AWS_EC2_METADATA_DISABLED: 'true' };
  let steps = 0;
  const first = await runCli(args, {
    env,
    onStderr: (text, child) => {
      const line = /epoch 2\/2  step \d+\/(\d+)/.exec(text);
      if (!steps && line) {
        steps = Number(line[1]);
        child.kill('SIGTERM');
      }
    },
  });
  expect(first.code).toBe(130);
  const stoppedAt = (await createCheckpointStore(join(work, 'resume', 'checkpoints')).load())?.partial;
  expect(stoppedAt).toMatchObject({ epoch: 2 });

  const second = await runCli(args, { env });
  expect(second.code).toBe(0);
  expect(second.stderr).toContain(`resuming epoch 2 at step ${stoppedAt!.steps + 1} of ${steps}`);
  expect(second.stderr).not.toMatch(/epoch 1\/2 /);
  const runDir = lastLine(second.stdout);
  expect(runDir).toBe(lastLine(first.stdout));
  expect(await readJson(join(runDir, 'run.json'))).toMatchObject({ status: 'FINISHED' });
  const epochs = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line).epoch);
  expect(epochs).toEqual([1, 2]);
}, 2 * DEFAULT_CLI_TIMEOUT_MS + 60_000);
