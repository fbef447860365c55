import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MlflowClient } from '../../../trainer/src/tracking/mlflow/client';
import { startCuttableProxy, type CuttableProxy } from '../../support/cuttable-proxy';
import { describeRealMlflow, uniqueName } from '../../support/real-mlflow';
import { runCli } from '../../support/run-cli';

/**
 * Stop requests against a real MLflow: a second Ctrl-C quits within seconds, and the MLflow run
 * ends KILLED (or its end waits in the outbox for `sync`), never RUNNING. micro at 48 px in
 * batches of 8 trains 41 steps an epoch, seconds here: the signals come in the middle of epoch 1.
 */
describeRealMlflow('stop requests during a tracked run', (mlflow) => {
  let work: string;
  let proxy: CuttableProxy | undefined;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'interrupt-mlflow-'));
  });
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const client = () => new MlflowClient(mlflow.connection());
  const train = (name: string, env: Record<string, string>, onStderr: (text: string, kill: (signal: NodeJS.Signals) => void) => void) => runCli(
    ['train', '--data', 'synthetic:400', '--model', 'micro', '--image-size', '48', '--batch-size', '8', '--epochs', '20',
      '--out', join(work, name), '--cache-dir', join(work, 'cache'), '--register-model', uniqueName('interrupt')],
    { env: { ...env, MLFLOW_EXPERIMENT_NAME: uniqueName('interrupt') }, onStderr: (text, child) => onStderr(text, (signal) => child.kill(signal)) },
  );
  /**
   * Ctrl-C in the middle of epoch 1 (after `before`), and again as soon as the first is seen: two
   * SIGINTs sent back to back would arrive as one.
   */
  const twoInterrupts = (before: () => Promise<void> = async () => undefined) => {
    let sent = 0;
    return {
      sent: () => sent,
      onStderr: (text: string, kill: (signal: NodeJS.Signals) => void) => {
        if (sent === 0 && /epoch 1\/20  step/.test(text)) {
          sent = -1;
          void before().then(() => {
            kill('SIGINT');
            sent = 1;
          });
        } else if (sent === 1 && text.includes('SIGINT: stopping after this step')) {
          kill('SIGINT');
          sent = 2;
        }
      },
    };
  };
  const runFolder = async (name: string) => join(work, name, (await readdir(join(work, name)))[0]);

  test('Ctrl-C twice within a second in the middle of an epoch: exit 130, and MLflow ends the run KILLED with an end time', async () => {
    const signals = twoInterrupts();
    const result = await train('twice', mlflow.trackingEnv(), signals.onStderr);
    expect(signals.sent()).toBe(2);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('SIGINT: quitting at once (second stop request)');
    const runId = /recording run ([0-9a-f]{32}) as KILLED before quitting/.exec(result.stderr)?.[1] as string;
    expect(runId).toBeDefined();
    const runDir = await runFolder('twice');
    expect(JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'))).toMatchObject({ status: 'KILLED' });
    // Ended within the few seconds, or (on a slow server) kept with the command that sends it, which does.
    if (!result.stderr.includes(`run ${runId} recorded as KILLED`)) {
      expect(result.stderr).toContain(`npm run sync -- ${runDir}`);
      expect((await runCli(['sync', runDir], { env: mlflow.trackingEnv() })).code).toBe(0);
    }
    const { info, data } = await client().getRun(runId);
    expect(info.status).toBe('KILLED');
    expect(Number(info.end_time)).toBeGreaterThan(Number(info.start_time));
    // In the middle of the first epoch: no epoch's metrics were logged.
    expect(data.metrics.filter((m) => m.key === 'loss')).toEqual([]);
    expect(data.tags).toContainEqual({ key: 'error_message', value: 'stopped at once by a second interrupt' });
  });

  test('with the server gone, the run\'s end waits in the outbox (said, with the command), and sync delivers it: KILLED', async () => {
    proxy = await startCuttableProxy(mlflow.url);
    const cut = proxy;
    const signals = twoInterrupts(() => cut.down());
    const result = await train('gone', { ...mlflow.trackingEnv(), MLFLOW_TRACKING_URI: cut.url }, signals.onStderr);
    expect(signals.sent()).toBe(2);
    expect(result.code).toBe(130);
    const runDir = await runFolder('gone');
    const outbox = join(runDir, 'mlflow-outbox.jsonl');
    expect(result.stderr).toContain('the server did not take the run\'s end');
    expect(result.stderr).toContain(`kept in ${outbox}; send them with:\n  npm run sync -- ${runDir}`);
    const lines = (await readFile(outbox, 'utf8')).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toContainEqual(expect.objectContaining({ op: 'finish', status: 'KILLED' }));
    const runId = lines[0].runId as string;
    expect((await client().getRun(runId)).info.status).toBe('RUNNING');

    await cut.up();
    const sync = await runCli(['sync', runDir], { env: { ...mlflow.trackingEnv(), MLFLOW_TRACKING_URI: cut.url } });
    expect(sync.code).toBe(0);
    expect(existsSync(outbox)).toBe(false);
    const { info } = await client().getRun(runId);
    expect(info.status).toBe('KILLED');
    expect(Number(info.end_time)).toBeGreaterThan(0);
  });
});
