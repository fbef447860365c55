import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { createAwsClients } from '../../lib/launcher/aws-clients';
import { trainCloudCommand } from '../../lib/launcher/train-cloud-command';
import { UserError } from '../../trainer/src/user-error';
import { appliedQuota, awsError, defaultQuota, noAppliedQuota } from './cloud-aws-responses';
import { stackWithOutputs, stubbedAwsClients } from './stubbed-aws';

interface Fake {
  stackExists?: boolean;
  /** What the SDK throws before it can call AWS at all. */
  sdkError?: Error;
  desired?: number;
  instances?: Array<{ InstanceId: string; LifecycleState: string }>;
  runRequest?: string;
  /** The outputs of a stack that names its GPU capacity, and the quota it counts against. */
  gpu?: { instanceType: string; capacity: 'spot' | 'on-demand'; quota: number | 'never applied' | Error };
}

const OUTPUTS = {
  TrainerGroupName: 'MalariaTraining-dev-TrainerGroupASG-1',
  RunRequestParameter: '/malaria-mlops/dev/trainer/run-request',
  OutcomeParameter: '/malaria-mlops/dev/trainer/last-outcome',
  TrainerLogGroup: '/malaria-mlops/dev/trainer',
};

/** Stubbed SDK clients answering from `fake`, and the command on them. */
function launcher(fake: Fake = {}) {
  const printed: string[] = [];
  const { clients, calls } = stubbedAwsClients((command) => {
    if (command instanceof DescribeStacksCommand) {
      if (fake.sdkError) throw fake.sdkError;
      if (fake.stackExists === false) throw Object.assign(new Error('Stack with id MalariaTraining-dev does not exist'), { name: 'ValidationError' });
      return stackWithOutputs(fake.gpu ? { ...OUTPUTS, TrainerInstanceType: fake.gpu.instanceType, GpuCapacity: fake.gpu.capacity } : OUTPUTS);
    }
    if (command instanceof GetServiceQuotaCommand) {
      const quota = fake.gpu?.quota;
      if (quota instanceof Error) throw quota;
      if (quota === 'never applied') throw noAppliedQuota();
      return appliedQuota(String(command.input.QuotaCode), quota ?? 0);
    }
    if (command instanceof GetAWSDefaultServiceQuotaCommand) return defaultQuota(String(command.input.QuotaCode), 64);
    if (command instanceof DescribeAutoScalingGroupsCommand) {
      return { AutoScalingGroups: [{ DesiredCapacity: fake.desired ?? 0, Instances: fake.instances ?? [] }] };
    }
    if (command instanceof GetParameterCommand) {
      const value = command.input.Name === OUTPUTS.OutcomeParameter ? '{"outcome":"success","runId":"r0"}' : (fake.runRequest ?? 'r0');
      return { Parameter: { Value: value } };
    }
    return {};
  });
  const command = trainCloudCommand({ clients: () => clients, now: () => new Date('2026-11-25T20:41:07Z'), print: (line) => printed.push(line) });
  command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const run = (...args: string[]) => command.parseAsync(['node', 'train-cloud', ...args]);
  return { run, calls, printed };
}

describe('npm run train:cloud', () => {
  test('writes the run request, then asks the group for one instance, and says how to follow the run', async () => {
    const { run, calls, printed } = launcher();
    await run('--model', 'cnn-2', '--epochs', '5', '--augment');
    const put = calls.findIndex((c) => c.startsWith('PutParameterCommand'));
    const start = calls.findIndex((c) => c.startsWith('SetDesiredCapacityCommand'));
    expect(put).toBeGreaterThan(0);
    expect(start).toBeGreaterThan(put);
    expect(JSON.parse(calls[put].slice('PutParameterCommand '.length))).toEqual({
      Name: OUTPUTS.RunRequestParameter, Overwrite: true, Value: '20261125-204107-cnn-2\n--model\ncnn-2\n--epochs\n5\n--augment',
    });
    expect(calls[start]).toContain('"AutoScalingGroupName":"MalariaTraining-dev-TrainerGroupASG-1","DesiredCapacity":1');
    expect(printed.join('\n')).toContain('aws logs tail /malaria-mlops/dev/trainer --follow --log-stream-name-prefix 20261125-204107-cnn-2/');
  });

  test('looks up the stack of the environment it is given', async () => {
    const { run, calls } = launcher();
    await run('--env', 'alice');
    expect(calls[0]).toBe('DescribeStacksCommand {"StackName":"MalariaTraining-alice"}');
  });

  test.each([
    [['--epochs', '0'], /--epochs: /],
    [['--data', './cell_images.zip'], /--data: must be an http\(s\) URL or synthetic\[:N\]/],
    [['--split-fractions', '0.5,0.2,0.2'], /--split-fractions: fractions must add up to 1/],
  ])('refuses %j before asking AWS anything', async (args, message) => {
    const { run, calls } = launcher();
    await expect(run(...args)).rejects.toThrow(message);
    expect(calls).toEqual([]);
  });

  test('refuses an unknown model with the accepted names', async () => {
    const { run, calls } = launcher();
    await expect(run('--model', 'resnet50')).rejects.toThrow(/Allowed choices are compact, micro, cnn-1, cnn-2, cnn-3, cnn-4, vgg16/);
    expect(calls).toEqual([]);
  });

  test('one run at a time: a run in progress is named, with the command that stops it', async () => {
    const { run, calls } = launcher({ desired: 1, instances: [{ InstanceId: 'i-0abc', LifecycleState: 'InService' }], runRequest: 'deploy-0123456789ab\n--epochs\n10' });
    const started = run('--epochs', '3');
    await expect(started).rejects.toThrow(UserError);
    await expect(started).rejects.toThrow('run deploy-0123456789ab is still going in dev (i-0abc InService): wait for it to finish, or stop it with: npm run train:cloud -- --env dev --stop');
    expect(calls.some((c) => c.startsWith('PutParameterCommand') || c.startsWith('SetDesiredCapacityCommand'))).toBe(false);
  });

  test('an environment that was never deployed is named with the command that deploys it', async () => {
    const { run } = launcher({ stackExists: false });
    await expect(run('--env', 'bob')).rejects.toThrow('stack MalariaTraining-bob does not exist in this account and region: deploy it first (npx cdk deploy --all -c env=bob)');
  });

  test.each([
    [new Error('Region is missing'), 'no AWS region: pass --region <region>'],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), 'no AWS credentials'],
  ])('an SDK that cannot reach AWS (%s) gives a clear error', async (sdkError, message) => {
    const { run } = launcher({ sdkError });
    await expect(run()).rejects.toThrow(UserError);
    await expect(launcher({ sdkError }).run()).rejects.toThrow(message);
  });

  test('--stop sets the desired capacity to 0', async () => {
    const { run, calls, printed } = launcher({ desired: 1 });
    await run('--stop');
    expect(calls.filter((c) => c.startsWith('SetDesiredCapacityCommand'))).toEqual([
      'SetDesiredCapacityCommand {"AutoScalingGroupName":"MalariaTraining-dev-TrainerGroupASG-1","DesiredCapacity":0,"HonorCooldown":false}',
    ]);
    expect(printed[0]).toMatch(/checkpoints and terminates/);
  });

  test('--status shows the instance, the run request and the last outcome', async () => {
    const { run, printed } = launcher({ desired: 1, instances: [{ InstanceId: 'i-0abc', LifecycleState: 'Pending' }], runRequest: 'r7\n--model\nmicro' });
    await run('--status');
    expect(printed).toEqual([
      'environment dev: a run is on; instance i-0abc (Pending)',
      'run request: r7 --model micro',
      'last outcome: {"outcome":"success","runId":"r0"}',
      'logs: aws logs tail /malaria-mlops/dev/trainer --follow --log-stream-name-prefix r7/',
    ]);
  });

  test('--resume reuses the run id, and the arguments it was started with', async () => {
    const { run, calls } = launcher({ runRequest: '20261101-100000-vgg16\n--model\nvgg16\n--epochs\n40' });
    await run('--resume', '20261101-100000-vgg16');
    const put = calls.find((c) => c.startsWith('PutParameterCommand'))!;
    expect(put).toContain('"Value":"20261101-100000-vgg16\\n--model\\nvgg16\\n--epochs\\n40"');
  });

  test('--resume of an older run needs its options again', async () => {
    const { run } = launcher({ runRequest: 'r9\n--epochs\n3' });
    await expect(run('--resume', 'r1')).rejects.toThrow('--resume r1: the last run request was r9; pass the options r1 was started with again');
  });
});

describe('the GPU quota, checked before anything starts', () => {
  const started = (calls: string[]) => calls.filter((c) => /^(PutParameter|SetDesiredCapacity)/.test(c));

  test('a quota of 0 vCPUs: refuses, says what the instance needs and how to ask for it, and starts nothing', async () => {
    const { run, calls } = launcher({ gpu: { instanceType: 'g4dn.xlarge', capacity: 'on-demand', quota: 0 } });
    const refused = run('--model', 'micro');
    await expect(refused).rejects.toThrow(UserError);
    const message = (await refused.catch((e: Error) => e.message)) as string;
    expect(message).toMatch(/^the quota "Running On-Demand G and VT instances" \(L-DB2E81BA\) of this account in eu-west-1 is 0 vCPUs, and one g4dn.xlarge needs 4: the run would wait for an instance that never starts\. Nothing was started\./);
    expect(message).toContain('aws service-quotas request-service-quota-increase --region eu-west-1 --service-code ec2 --quota-code L-DB2E81BA --desired-value 4');
    expect(message).toContain('https://eu-west-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-DB2E81BA');
    expect(message).toMatch(/often approved within an hour; a new account can wait one to three business days/);
    expect(started(calls)).toEqual([]);
  });

  test('spot capacity is checked against the spot quota', async () => {
    const { run, calls } = launcher({ gpu: { instanceType: 'g5.2xlarge', capacity: 'spot', quota: 4 } });
    await expect(run()).rejects.toThrow(/"All G and VT Spot Instance Requests" \(L-3819A6DF\) .* is 4 vCPUs, and one spot g5.2xlarge needs 8/);
    expect(calls).toContain('GetServiceQuotaCommand {"ServiceCode":"ec2","QuotaCode":"L-3819A6DF"}');
  });

  test('a quota never applied to the account is read as AWS\'s default, and enough of it starts the run', async () => {
    const { run, calls } = launcher({ gpu: { instanceType: 'g4dn.xlarge', capacity: 'on-demand', quota: 'never applied' } });
    await run('--model', 'micro');
    expect(calls).toContain('GetAWSDefaultServiceQuotaCommand {"ServiceCode":"ec2","QuotaCode":"L-DB2E81BA"}');
    expect(started(calls)).toHaveLength(2);
  });

  test('a quota it may not read is mentioned, and the run starts anyway', async () => {
    const denied = awsError('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/alice is not authorized to perform: servicequotas:GetServiceQuota');
    const { run, calls, printed } = launcher({ gpu: { instanceType: 'g4dn.xlarge', capacity: 'on-demand', quota: denied } });
    await run();
    expect(printed[0]).toMatch(/^note: the GPU quota could not be read \(AccessDeniedException: User: .* servicequotas:GetServiceQuota\); starting anyway/);
    expect(started(calls)).toHaveLength(2);
  });
});

describe('laptop-only flags', () => {
  test.each([
    ['--out', '/tmp/runs', 'results go to MLflow'],
    ['--cache-dir', '/tmp/cache', 'the dataset cache is the bucket'],
    ['--backend', 'wasm', 'the GPU backend is required in the cloud'],
  ])('%s is refused with the reason, before AWS is asked anything', async (flag, value, reason) => {
    const { run, calls } = launcher();
    const refused = run('--model', 'micro', flag, value);
    await expect(refused).rejects.toThrow(UserError);
    await expect(refused).rejects.toThrow(`${flag}: not available for cloud runs (`);
    await expect(refused).rejects.toThrow(reason);
    expect(calls).toEqual([]);
  });

  test('they stay out of --help, which shows the npm command', () => {
    const help = trainCloudCommand({ clients: createAwsClients, now: () => new Date(), print: () => undefined }).helpInformation();
    expect(help).toMatch(/^Usage: npm run train:cloud -- \[options\]/);
    expect(help).not.toContain('--cache-dir');
    expect(help).toContain('--epochs');
  });
});

describe('the command as people run it (bin/train-cloud.ts)', () => {
  const ROOT = path.join(__dirname, '../..');
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync(process.execPath, ['--import', 'tsx', 'bin/train-cloud.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    // No credentials anywhere and no metadata service: the first AWS call fails at once.
    env: {
      PATH: process.env.PATH, HOME: os.tmpdir(), AWS_REGION: 'eu-west-1', AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent', AWS_SHARED_CREDENTIALS_FILE: '/nonexistent', ...env,
    },
  });

  test.each([
    ['a misspelled flag', ['--epoch', '3'], /unknown option '--epoch'[\s\S]*Did you mean --epochs\?/],
    ['a flag without its value', ['--epochs'], /option '--epochs <n>' argument missing/],
    ['a laptop-only flag', ['--cache-dir', '/tmp/x'], /--cache-dir: not available for cloud runs/],
  ])('%s is bad input: exit 2, a short message, not the whole help', (_name, args, message) => {
    const result = cli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('Options:');
  });

  test('the output has the error alone: no Node version notice from the AWS SDK', () => {
    const result = cli(['--status']);
    expect(result.stderr).toMatch(/^error: no AWS credentials/);
    expect(result.stderr).not.toContain('NodeVersionSupportWarning');
    expect(result.status).toBe(2);
  });
});
