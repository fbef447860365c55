import { BatchClient, DescribeJobsCommand, ListJobsCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../lib/launcher/aws-clients';
import { sweepCloudCommand } from '../../lib/launcher/sweep-cloud-command';
import { SWEEP_ID_PATTERN, type SweepPlan } from '../../trainer/src/sweep/plan';
import { UserError } from '../../trainer/src/user-error';
import { appliedQuota, describeServices } from './cloud-aws-responses';
import {
  BUCKET, CELLS_JOB_ID, childrenList, describeArrayJob, describeExecution, describeFailedChild, describeStacks, EXECUTION_ARN,
  executionDoesNotExist, JOB_QUEUE_ARN, jsonObject, noSuchKey, STATE_MACHINE_ARN, startExecution, SWEEP_ID, SWEEP_OUTPUTS, sweepJobsList,
} from './sweep-aws-responses';

// aws-sdk-client-mock replaces `send` of every client of these classes: the launcher's own
// clients, built by the real factory, answer from the recorded responses.
const cloudFormation = mockClient(CloudFormationClient);
const stepFunctions = mockClient(SFNClient);
const batch = mockClient(BatchClient);
const s3 = mockClient(S3Client);
const ecs = mockClient(ECSClient);
const serviceQuotas = mockClient(ServiceQuotasClient);
const mocks = [cloudFormation, stepFunctions, batch, s3, ecs, serviceQuotas];

let regions: Array<string | undefined>;
let printed: string[];

beforeEach(() => {
  for (const mock of mocks) mock.reset();
  regions = [];
  printed = [];
  cloudFormation.on(DescribeStacksCommand).resolves(describeStacks(SWEEP_OUTPUTS));
  s3.on(PutObjectCommand).resolves({ ETag: '"0cc175b9c0f1b6a831c399e269772661"' });
  stepFunctions.on(StartExecutionCommand).callsFake(async (input: { name: string }) => startExecution(input.name));
});

function run(...args: string[]): Promise<unknown> {
  const command = sweepCloudCommand({
    clients: (region) => {
      regions.push(region);
      return createAwsClients(region ?? 'eu-west-1');
    },
    now: () => new Date('2026-11-30T10:15:00Z'),
    print: (line) => printed.push(line),
  });
  command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return command.parseAsync(['node', 'sweep', ...args]);
}

const callsOf = (mock: (typeof mocks)[number], command: abstract new (...args: never[]) => unknown) => mock.commandCalls(command as never);
const totalCalls = () => mocks.reduce((sum, mock) => sum + mock.calls().length, 0);

function writtenPlan(): { key: string; plan: SweepPlan } {
  const [call] = callsOf(s3, PutObjectCommand);
  const input = call.args[0].input as { Bucket: string; Key: string; Body: string };
  expect(input.Bucket).toBe(BUCKET);
  return { key: input.Key, plan: JSON.parse(String(input.Body)) };
}

describe('npm run sweep -- --cloud', () => {
  test('writes the plan where the jobs read it, then starts the state machine with the sweep id and the cell count', async () => {
    await run('--cloud', '--models', 'micro,cnn-1', '--seeds', '1,2', '--data', 'synthetic:400', '--epochs', '1');
    const { key, plan } = writtenPlan();
    expect(plan.sweepId).toMatch(SWEEP_ID_PATTERN);
    expect(plan.sweepId.startsWith('sweep-20261130-101500-')).toBe(true);
    expect(key).toBe(`sweeps/${plan.sweepId}/plan.json`);
    expect(plan.cells.map((cell) => cell.name)).toEqual(['micro seed=1', 'micro seed=2', 'cnn-1 seed=1', 'cnn-1 seed=2']);
    expect(plan.cells[3].options).toEqual({ data: 'synthetic:400', epochs: 1, model: 'cnn-1', seed: 2 });

    const [start] = callsOf(stepFunctions, StartExecutionCommand);
    expect(start.args[0].input).toEqual({ stateMachineArn: STATE_MACHINE_ARN, name: plan.sweepId, input: JSON.stringify({ sweepId: plan.sweepId, cells: 4 }) });
    // The plan is there before any job can look for it.
    expect(callsOf(s3, PutObjectCommand)[0].calledBefore(start)).toBe(true);
  });

  test('prints the sweep id, where its MLflow parent will appear, the console URL, and how to follow and stop it', async () => {
    await run('--cloud', '--preset', 'seed');
    const { plan } = writtenPlan();
    const out = printed.join('\n');
    expect(printed[0]).toBe(`sweep ${plan.sweepId} started in dev: 5 cells, one GPU each`);
    expect(out).toContain('MLflow parent run: created by the first step');
    expect(out).toContain(`console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${plan.sweepId}`);
    expect(out).toContain('logs: aws logs tail /malaria-mlops/dev/sweeps --follow');
    expect(out).toContain(`npm run sweep -- --env dev --status ${plan.sweepId}`);
    expect(out).toContain(`npm run sweep -- --env dev --stop ${plan.sweepId}`);
  });

  test('looks up the stack of the environment and region it is given', async () => {
    await run('--cloud', '--env', 'alice', '--region', 'us-east-1', '--models', 'micro,compact');
    expect(regions).toEqual(['us-east-1']);
    expect(callsOf(cloudFormation, DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'MalariaTraining-alice' });
  });

  test('--dry-run prints the array job and each cell, and asks AWS nothing', async () => {
    await run('--cloud', '--dry-run', '--models', 'micro,cnn-1', '--seeds', '1,2', '--data', 'synthetic:400', '--epochs', '1');
    expect(totalCalls()).toBe(0);
    expect(regions).toEqual([]);
    const out = printed.join('\n');
    expect(out).toMatch(/array job sweep-20261130-101500-[0-9a-f]{4}-cells, size 4, one GPU per child/);
    expect(out).toMatch(/sweep-cell --plan s3:\/\/<bucket of MalariaTraining-dev>\/sweeps\/sweep-\S+\/ --require-gpu --dataset-cache s3:\/\/<bucket of MalariaTraining-dev>\/datasets\/malaria\/ --checkpoint-uri s3:\/\/<bucket of MalariaTraining-dev>\/checkpoints\/sweep-\S+\//);
    expect(out).toContain('[3] cnn-1 seed=2  --data synthetic:400 --model cnn-1 --epochs 1 --seed 2');
    expect(out).toMatch(/"cells":4/);
  });

  test('--dry-run of a single cell shows the plain job that trains it', async () => {
    await run('--cloud', '--dry-run', '--models', 'micro');
    const out = printed.join('\n');
    expect(out).toMatch(/job sweep-\S+-cells, one GPU, trains the only cell/);
    expect(out).toMatch(/--checkpoint-uri s3:\/\/.+\/checkpoints\/sweep-\S+\/ --index 0\n/);
  });

  test.each([
    [['--models', 'micro,cnn-1', '--out', '/tmp/runs'], /--out: not available for cloud runs \(the run folder lives inside the container/],
    [['--models', 'micro', '--checkpoint-uri', 's3://b/c'], /--checkpoint-uri: not available for cloud runs \(the boot script points it at the bucket\)/],
    [['--models', 'micro', '--data', './cell_images.zip'], /--data: must be an http\(s\) URL or synthetic\[:N\]/],
    [['--models', 'micro,resnet'], /cell 2 \(resnet\): --model: must be one of compact, micro/],
    [['--models', 'micro,cnn-1', '--epochs', '0'], /cell 1 \(micro\): --epochs: [^]*cell 2 \(cnn-1\): --epochs: /],
    [['--epochs', '3'], /a sweep needs cells: give --models, --seeds, --grid <file.json> or --preset seed/],
    [['--preset', 'seed', '--model', 'compact'], /--model: --preset seed sets it cell by cell/],
  ])('refuses %j before asking AWS anything', async (args, message) => {
    const error = await run('--cloud', ...args).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
    expect(totalCalls()).toBe(0);
  });

  test('a laptop-only option every cell shares is named once, not once per cell', async () => {
    const error = (await run('--cloud', '--models', 'micro,cnn-1,cnn-2', '--backend', 'wasm').catch((e: unknown) => e)) as Error;
    expect(error.message.match(/--backend/g)).toHaveLength(1);
  });

  test('refuses while the environment sleeps, before writing the plan: the cells would have no MLflow to log to', async () => {
    const tracking = { MlflowCluster: 'malaria-dev-cluster', MlflowService: 'mlflow-service', DatabaseInstance: 'mlflow-db' };
    cloudFormation.on(DescribeStacksCommand, { StackName: 'MalariaTracking-dev' }).resolves(describeStacks(tracking));
    ecs.on(DescribeServicesCommand).resolves(describeServices(0));
    await expect(run('--cloud', '--models', 'micro,cnn-1')).rejects.toThrow(
      new UserError('MLflow in dev is asleep, and the sweep would have nowhere to log: npm run cloud:wake -- --env dev first'),
    );
    expect(callsOf(s3, PutObjectCommand)).toHaveLength(0);
    expect(callsOf(stepFunctions, StartExecutionCommand)).toHaveLength(0);
  });

  describe('the GPU quota of the compute environment', () => {
    const gpuOutputs = { ...SWEEP_OUTPUTS, SweepInstanceType: 'g4dn.xlarge', SweepMaxInstances: '4', GpuCapacity: 'spot' };
    beforeEach(() => {
      cloudFormation.on(DescribeStacksCommand).resolves(describeStacks(gpuOutputs));
    });

    test('too small for one instance: refuses with the request that fixes it, and sends nothing', async () => {
      serviceQuotas.on(GetServiceQuotaCommand, { QuotaCode: 'L-3819A6DF' }).resolves(appliedQuota('L-3819A6DF', 0));
      const error = (await run('--cloud', '--preset', 'seed').catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(UserError);
      expect(error.message).toMatch(/^the quota "All G and VT Spot Instance Requests" \(L-3819A6DF\) of this account in eu-west-1 is 0 vCPUs, and one spot g4dn.xlarge needs 4: the sweep would wait/);
      // Five cells, at most four instances at once: four instances' worth.
      expect(error.message).toContain('--quota-code L-3819A6DF --desired-value 16');
      expect(callsOf(s3, PutObjectCommand)).toHaveLength(0);
      expect(callsOf(stepFunctions, StartExecutionCommand)).toHaveLength(0);
    });

    test('enough for fewer instances than the sweep could use: starts it, and says how many run at once', async () => {
      serviceQuotas.on(GetServiceQuotaCommand, { QuotaCode: 'L-3819A6DF' }).resolves(appliedQuota('L-3819A6DF', 8));
      await run('--cloud', '--models', 'micro,cnn-1,cnn-2');
      expect(printed[0]).toBe('note: the quota "All G and VT Spot Instance Requests" (L-3819A6DF) of this account in eu-west-1 is 8 vCPUs: '
        + '2 spot g4dn.xlarge at once of the 3 the sweep could use; the rest wait their turn. For all at once, ask for 12 vCPUs:');
      expect(printed[1]).toContain('--desired-value 12');
      expect(callsOf(stepFunctions, StartExecutionCommand)).toHaveLength(1);
    });

    test('enough for all: nothing to say', async () => {
      serviceQuotas.on(GetServiceQuotaCommand).resolves(appliedQuota('L-3819A6DF', 64));
      await run('--cloud', '--models', 'micro,cnn-1');
      expect(printed[0]).toMatch(/^sweep sweep-\S+ started in dev: 2 cells/);
    });
  });

  test('a stack deployed before sweeps existed: says to redeploy', async () => {
    cloudFormation.on(DescribeStacksCommand).resolves(describeStacks({ TrainerGroupName: 'g' }));
    await expect(run('--cloud', '--models', 'micro,cnn-1')).rejects.toThrow(/stack MalariaTraining-dev has no output SweepStateMachineArn: redeploy it/);
    expect(callsOf(stepFunctions, StartExecutionCommand)).toHaveLength(0);
  });
});

describe('npm run sweep -- --status', () => {
  const plan: SweepPlan = {
    format: 'malaria-sweep/1', sweepId: SWEEP_ID, createdAt: '2026-11-30T10:15:00.000Z',
    cells: ['micro seed=1', 'micro seed=2', 'cnn-1 seed=1', 'cnn-1 seed=2'].map((name, index) => ({ index, name, varied: {}, options: {} })),
  };

  beforeEach(() => {
    s3.on(GetObjectCommand, { Key: `sweeps/${SWEEP_ID}/plan.json` }).callsFake(async () => jsonObject(plan));
    s3.on(GetObjectCommand, { Key: `sweeps/${SWEEP_ID}/parent.json` }).callsFake(async () => jsonObject({ runId: '8f2e4c6a0b1d4e3f9a7c5b3d1e0f2a4c', runDir: '/home/trainer/runs/x' }));
  });

  test('shows the execution, the MLflow parent, the cells by state and each failed cell with its reason and log', async () => {
    stepFunctions.on(DescribeExecutionCommand).resolves(describeExecution('RUNNING'));
    batch.on(ListJobsCommand, { jobQueue: JOB_QUEUE_ARN }).resolves(sweepJobsList({ start: 'SUCCEEDED', cells: 'PENDING' }));
    batch.on(ListJobsCommand, { arrayJobId: CELLS_JOB_ID, jobStatus: 'FAILED' }).resolves(childrenList([2], 'FAILED'));
    batch.on(DescribeJobsCommand, { jobs: [CELLS_JOB_ID] }).resolves(describeArrayJob({ SUCCEEDED: 1, FAILED: 1, RUNNING: 2 }));
    batch.on(DescribeJobsCommand, { jobs: [`${CELLS_JOB_ID}:2`] }).resolves(describeFailedChild(2));
    await run('--status', SWEEP_ID);

    expect(callsOf(stepFunctions, DescribeExecutionCommand)[0].args[0].input).toEqual({ executionArn: EXECUTION_ARN });
    expect(callsOf(batch, ListJobsCommand)[0].args[0].input).toEqual({ jobQueue: JOB_QUEUE_ARN, filters: [{ name: 'JOB_NAME', values: [`${SWEEP_ID}-*`] }] });
    expect(printed).toEqual([
      `sweep ${SWEEP_ID} in dev: RUNNING, started 2026-11-30T10:15:01.000Z`,
      'MLflow parent run: 8f2e4c6a0b1d4e3f9a7c5b3d1e0f2a4c',
      'start:  SUCCEEDED, exit code 0',
      'cells:  4 in all; 1 succeeded, 1 failed, 2 running',
      `        [2] cnn-1 seed=1: FAILED, exit code 1 (Essential container in task exited); log: aws logs tail /malaria-mlops/dev/sweeps --log-stream-names sweep/default/0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e52`,
      'finish: not submitted yet',
      `console: https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${EXECUTION_ARN}`,
    ]);
  });

  test('before sweep-start has run: no parent run yet, no cells', async () => {
    s3.on(GetObjectCommand, { Key: `sweeps/${SWEEP_ID}/parent.json` }).rejects(noSuchKey());
    stepFunctions.on(DescribeExecutionCommand).resolves(describeExecution('RUNNING'));
    batch.on(ListJobsCommand).resolves(sweepJobsList({ start: 'RUNNABLE' }));
    await run('--status', SWEEP_ID);
    expect(printed.slice(1, 5)).toEqual(['MLflow parent run: not created yet', 'start:  RUNNABLE', 'cells:  not submitted yet', 'finish: not submitted yet']);
  });

  test('an unknown sweep id names the environment', async () => {
    stepFunctions.on(DescribeExecutionCommand).rejects(executionDoesNotExist());
    await expect(run('--status', SWEEP_ID, '--env', 'alice')).rejects.toThrow(`no sweep ${SWEEP_ID} in alice (MalariaTraining-alice)`);
  });

  test.each([
    [['--status', 'sweep-1'], /sweep-1: not a sweep id/],
    [['--status', SWEEP_ID, '--models', 'micro'], /--status takes a sweep id only; leave out --models/],
    [['--status', SWEEP_ID, '--stop', SWEEP_ID], /use one of --status and --stop at a time/],
  ])('refuses %j before asking AWS anything', async (args, message) => {
    await expect(run(...args)).rejects.toThrow(message);
    expect(totalCalls()).toBe(0);
  });
});

describe('npm run sweep -- --stop', () => {
  test('while cells train: terminates the running children and the array, so that sweep-finish still compares the finished ones', async () => {
    stepFunctions.on(DescribeExecutionCommand).resolves(describeExecution('RUNNING'));
    batch.on(ListJobsCommand, { jobQueue: JOB_QUEUE_ARN }).resolves(sweepJobsList({ start: 'SUCCEEDED', cells: 'PENDING' }));
    batch.on(ListJobsCommand, { arrayJobId: CELLS_JOB_ID, jobStatus: 'RUNNING' }).resolves(childrenList([0, 3], 'RUNNING'));
    batch.on(ListJobsCommand, { arrayJobId: CELLS_JOB_ID, jobStatus: 'STARTING' }).resolves(childrenList([], 'STARTING'));
    batch.on(TerminateJobCommand).resolves({});
    await run('--stop', SWEEP_ID);
    expect(callsOf(batch, TerminateJobCommand).map((call) => call.args[0].input)).toEqual([
      { jobId: `${CELLS_JOB_ID}:0`, reason: `stopped by npm run sweep -- --stop ${SWEEP_ID}` },
      { jobId: `${CELLS_JOB_ID}:3`, reason: `stopped by npm run sweep -- --stop ${SWEEP_ID}` },
      { jobId: CELLS_JOB_ID, reason: `stopped by npm run sweep -- --stop ${SWEEP_ID}` },
    ]);
    expect(callsOf(stepFunctions, StopExecutionCommand)).toHaveLength(0);
    expect(printed[0]).toMatch(/2 running cells checkpoint and stop, waiting cells are cancelled/);
  });

  test('before the cells: stops the execution, which stops sweep-start', async () => {
    stepFunctions.on(DescribeExecutionCommand).resolves(describeExecution('RUNNING'));
    batch.on(ListJobsCommand).resolves(sweepJobsList({ start: 'RUNNING' }));
    stepFunctions.on(StopExecutionCommand).resolves({ stopDate: new Date() });
    await run('--stop', SWEEP_ID);
    expect(callsOf(stepFunctions, StopExecutionCommand)[0].args[0].input).toMatchObject({ executionArn: EXECUTION_ARN });
    expect(callsOf(batch, TerminateJobCommand)).toHaveLength(0);
  });

  test('a sweep that has ended: nothing is stopped', async () => {
    stepFunctions.on(DescribeExecutionCommand).resolves(describeExecution('SUCCEEDED', { stopDate: new Date('2026-11-30T11:02:00Z') }));
    await run('--stop', SWEEP_ID);
    expect(printed).toEqual([`sweep ${SWEEP_ID} has ended already (SUCCEEDED); nothing to stop`]);
    expect(callsOf(batch, TerminateJobCommand)).toHaveLength(0);
    expect(callsOf(stepFunctions, StopExecutionCommand)).toHaveLength(0);
  });
});
