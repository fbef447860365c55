import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCheckpointStore } from '../../../trainer/src/cloud/checkpoint-store';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';
import { startFakeS3, type FakeS3 } from './fake-s3';

/**
 * The spot story end to end on CPU: a cloud-style run (checkpoints in S3, tracking in MLflow) is
 * killed outright (SIGKILL: no handler runs, as when an instance dies) after its second epoch,
 * then started again with the same command, as the replacement instance does.
 */
describeRealMlflow('spot resume', (mlflow) => {
  let s3: FakeS3;
  let dir: string;

  beforeAll(async () => {
    s3 = await startFakeS3();
    dir = await mkdtemp(join(tmpdir(), 'resume-e2e-'));
  });
  afterAll(async () => {
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('a run killed after epoch 2 resumes at epoch 3 in the same MLflow run, with one metric history', async () => {
    const epochs = 5;
    const checkpointUri = `s3://${s3.bucket}/checkpoints/run-e2e`;
    const args = ['train', '--data', 'synthetic:240', '--model', 'micro', '--image-size', '48', '--epochs', String(epochs),
      '--patience', '0', '--checkpoint-uri', checkpointUri, '--out', join(dir, 'runs'), '--register-model', uniqueName('malaria')];
    // Loopback only: the metadata service is switched off, S3 is s3rver, MLflow the real server.
    const experimentName = uniqueName('resume');
    const env = { ...mlflow.trackingEnv(), MLFLOW_EXPERIMENT_NAME: experimentName, AWS_EC2_METADATA_DISABLED: 'true', XDG_CACHE_HOME: join(dir, 'cache') };
    const client = new MlflowClient(mlflow.connection());
    const runs = async () => (await client.searchRuns([(await client.getExperimentByName(experimentName))?.experiment_id ?? ''])).items;

    let killedAfter: number | undefined;
    let polling = false;
    const first = await runCli(args, {
      env,
      onStderr: (text, child) => {
        if (polling || !/epoch 2\/5 .*val_loss/.test(text)) return;
        polling = true;
        // The summary line comes before the checkpoint is written: kill as soon as the checkpoint is there.
        void (async () => {
          for (let i = 0; i < 500 && killedAfter === undefined; i++) {
            const saved = await createCheckpointStore(checkpointUri).load();
            if (saved && saved.epoch >= 2) {
              child.kill('SIGKILL');
              killedAfter = saved.epoch;
            } else {
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          }
        })();
      },
    });
    expect(first.code).toBeNull();
    expect(killedAfter).toBe(2);
    const [interrupted, ...others] = await runs();
    expect(others).toEqual([]);
    expect(interrupted.info.status).toBe('RUNNING');
    const runId = interrupted.info.run_id;
    // Checkpoints are written before an epoch's metrics are sent, so the kill may land before
    // epoch 2's reached the server: then the resumed run sends them itself, once, either way.
    expect((await client.getMetricHistory(runId, 'val_loss')).map((m) => m.step)).toEqual(expect.arrayContaining([1]));

    const second = await runCli(args, { env });
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`resuming after epoch 2 from ${checkpointUri}`);
    expect(second.stderr).not.toMatch(/epoch [12]\/5 /);
    expect(second.stderr).toMatch(/epoch 3\/5 /);

    // One run, finished, whose history has every epoch exactly once, with its logged model.
    const [run, ...more] = await runs();
    expect(more).toEqual([]);
    expect(run.info).toMatchObject({ run_id: runId, status: 'FINISHED' });
    expect((await client.getMetricHistory(runId, 'val_loss')).map((m) => m.step)).toEqual([1, 2, 3, 4, 5]);
    expect(run.outputs.model_outputs).toEqual([{ model_id: expect.stringMatching(/^m-/), step: 5 }]);

    // The run folder on the replacement is the same run, with the same one-line-per-epoch record.
    const runDir = second.stdout.trim().split('\n').at(-1)!;
    const lines = (await readFile(join(runDir, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { epoch: number });
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5]);
    expect((await createCheckpointStore(checkpointUri).load())?.epoch).toBe(5);
  }, 2 * DEFAULT_CLI_TIMEOUT_MS + 60_000);
});
