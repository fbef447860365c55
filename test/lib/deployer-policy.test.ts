import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { BatchClient, DescribeJobsCommand, ListJobsCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeAvailabilityZonesCommand, DescribeInstanceTypeOfferingsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetRoleCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { createAwsClients } from '../../lib/launcher/aws-clients';
import { cloudCheckCommand } from '../../lib/launcher/cloud-check/cloud-check-command';
import { powerCommand } from '../../lib/launcher/power-command';
import { sweepCloudCommand } from '../../lib/launcher/sweep-cloud-command';
import { trainCloudCommand } from '../../lib/launcher/train-cloud-command';
import {
  availabilityZones, callerIdentity, describeServices, defaultQuota, ecrImage, noAppliedQuota, offerings, parameter, role, runningExecutions, simulation,
} from './cloud-aws-responses';
import { type AuthRequest, isAllowed, type Policy } from './policy-evaluator';
import {
  ACCOUNT, BUCKET, CELLS_JOB_ID, childrenList, describeArrayJob, describeExecution, describeStacks, jsonObject, noSuchKey, REGION,
  startExecution, SWEEP_ID, SWEEP_OUTPUTS, sweepJobsList,
} from './sweep-aws-responses';

const ROOT = path.join(__dirname, '../..');
const policy = JSON.parse(readFileSync(path.join(ROOT, 'docs/deployer-policy.json'), 'utf8')) as Policy;
const allowedActions = new Set(policy.Statement.flatMap((s) => (typeof s.Action === 'string' ? [s.Action] : s.Action)));

/** IAM's service prefix of each AWS SDK client the launchers use. */
const SERVICE_PREFIX: Record<string, string> = {
  'client-auto-scaling': 'autoscaling', 'client-cloudformation': 'cloudformation', 'client-ssm': 'ssm', 'client-ecs': 'ecs', 'client-rds': 'rds',
  'client-batch': 'batch', 'client-sfn': 'states', 'client-s3': 's3', 'client-service-quotas': 'servicequotas', 'client-ec2': 'ec2',
  'client-iam': 'iam', 'client-ecr': 'ecr', 'client-sts': 'sts',
};
/** Calls every caller may make, whatever its policies say. */
const NEEDS_NO_PERMISSION = new Set(['sts:GetCallerIdentity']);

const sourceFiles = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
  const file = path.join(dir, name);
  return statSync(file).isDirectory() ? sourceFiles(file) : file.endsWith('.ts') ? [file] : [];
});

test('docs/deployer-policy.json names every AWS action that train:cloud, sweep --cloud, cloud:sleep, cloud:wake and cloud:check import', () => {
  const actions = sourceFiles(path.join(ROOT, 'lib/launcher')).flatMap((file) => {
    const source = readFileSync(file, 'utf8');
    return [...source.matchAll(/import \{([^}]+)\} from '@aws-sdk\/([\w-]+)'/g)].flatMap(([, names, pkg]) => names.split(',')
      .map((name) => name.trim()).filter((name) => /^\w+Command$/.test(name))
      .map((name) => {
        expect(SERVICE_PREFIX).toHaveProperty([pkg]);
        return `${SERVICE_PREFIX[pkg]}:${name.replace(/Command$/, '')}`;
      }));
  });
  expect(actions.length).toBeGreaterThan(25);
  const missing = [...new Set(actions)].filter((action) => !allowedActions.has(action) && !NEEDS_NO_PERMISSION.has(action));
  expect(missing).toEqual([]);
});

// Every client the launchers create, mocked at the class: the commands then run as people run them
// and each request they send is checked against the policy with the resource it names.
type Stub = ReturnType<typeof mockClient>;
const mocks = new Map<Stub, string>([
  [mockClient(CloudFormationClient), 'cloudformation'], [mockClient(AutoScalingClient), 'autoscaling'], [mockClient(SSMClient), 'ssm'],
  [mockClient(ECSClient), 'ecs'], [mockClient(RDSClient), 'rds'], [mockClient(SFNClient), 'states'], [mockClient(BatchClient), 'batch'],
  [mockClient(S3Client), 's3'], [mockClient(ServiceQuotasClient), 'servicequotas'], [mockClient(EC2Client), 'ec2'],
  [mockClient(STSClient), 'sts'], [mockClient(IAMClient), 'iam'], [mockClient(ECRClient), 'ecr'],
] as never);
const mock = (prefix: string): Stub => [...mocks].find(([, p]) => p === prefix)![0];

const TRACKING = { MlflowCluster: 'malaria-dev-cluster', MlflowService: 'mlflow-service', DatabaseInstance: 'mlflow-db' };
const TRAINING = {
  ...SWEEP_OUTPUTS, RunRequestParameter: '/malaria-mlops/dev/trainer/run-request', OutcomeParameter: '/malaria-mlops/dev/trainer/last-outcome',
  TrainerLogGroup: '/malaria-mlops/dev/trainer', TrainerInstanceType: 'g4dn.xlarge', GpuCapacity: 'on-demand', SweepInstanceType: 'g4dn.xlarge', SweepMaxInstances: '4',
};

/** What IAM authorizes for one SDK request. */
function authRequests(prefix: string, command: { constructor: { name: string }; input: Record<string, string> }): AuthRequest[] {
  const name = command.constructor.name.replace(/Command$/, '');
  const action = `${prefix}:${name}`;
  if (NEEDS_NO_PERMISSION.has(action)) return [];
  if (prefix === 's3') {
    const { Bucket, Key } = command.input;
    if (name === 'GetObject' || name === 'HeadObject') {
      // A missing key is a 404 only to a caller who may list the bucket, with the key as the
      // listing's prefix (S3's documented rule; Ceph's rgw copies it, ceph/ceph#68577); else a 403.
      return [
        { action: 's3:GetObject', resource: `arn:aws:s3:::${Bucket}/${Key}` },
        { action: 's3:ListBucket', resource: `arn:aws:s3:::${Bucket}`, context: { 's3:prefix': Key } },
      ];
    }
    return [{ action, resource: `arn:aws:s3:::${Bucket}/${Key}` }];
  }
  return [{ action, resource: `arn:aws:${prefix}:${REGION}:${ACCOUNT}:${name}` }];
}

function sentRequests(): AuthRequest[] {
  return [...mocks].flatMap(([stub, prefix]) => stub.calls().map((call) => authRequests(prefix, call.args[0] as never)).flat());
}

function answerAsDeployed(): void {
  for (const stub of mocks.keys()) stub.reset();
  mock('cloudformation').on(DescribeStacksCommand, { StackName: 'MalariaTracking-dev' }).resolves(describeStacks(TRACKING));
  mock('cloudformation').on(DescribeStacksCommand, { StackName: 'MalariaTraining-dev' }).resolves(describeStacks(TRAINING));
  mock('ecs').on(DescribeServicesCommand).resolves(describeServices(1));
  mock('servicequotas').on(GetServiceQuotaCommand).rejects(noAppliedQuota());
  mock('servicequotas').on(GetAWSDefaultServiceQuotaCommand).resolves(defaultQuota('L-DB2E81BA', 64));
  mock('autoscaling').on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ DesiredCapacity: 0, Instances: [] }] as never });
  mock('ssm').on(GetParameterCommand).resolves({ Parameter: { Value: 'r1\n--epochs\n3' } });
  mock('rds').on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'available' }] });
  mock('states').on(ListExecutionsCommand).resolves(runningExecutions([]));
  mock('states').on(StartExecutionCommand).callsFake(async (input: { name: string }) => startExecution(input.name));
  mock('states').on(DescribeExecutionCommand).resolves(describeExecution('RUNNING'));
  mock('batch').on(ListJobsCommand).resolves(childrenList([], 'RUNNING'));
  mock('s3').on(PutObjectCommand).resolves({});
}

const deps = { clients: (region?: string) => createAwsClients(region ?? REGION), now: () => new Date('2026-11-30T10:15:00Z'), print: () => undefined };
const parse = (command: ReturnType<typeof trainCloudCommand>, args: string[]) => command.exitOverride().parseAsync(['node', 'x', ...args]);

describe('every request the launchers make, with its resource, is allowed by docs/deployer-policy.json', () => {
  const scenarios: Array<[string, () => Promise<unknown>]> = [
    ['train:cloud starting a run (quota read as the default)', () => parse(trainCloudCommand(deps), ['--model', 'micro'])],
    ['train:cloud --status', () => parse(trainCloudCommand(deps), ['--status'])],
    ['train:cloud --stop', () => parse(trainCloudCommand(deps), ['--stop'])],
    ['train:cloud --resume', () => parse(trainCloudCommand(deps), ['--resume', 'r1'])],
    ['sweep --cloud', () => parse(sweepCloudCommand(deps), ['--cloud', '--models', 'micro,cnn-1'])],
    ['sweep --status before sweep-start wrote parent.json (the not-found path)', () => {
      mock('s3').on(GetObjectCommand, { Key: `sweeps/${SWEEP_ID}/plan.json` }).callsFake(async () => jsonObject({ format: 'malaria-sweep/1' }));
      mock('s3').on(GetObjectCommand, { Key: `sweeps/${SWEEP_ID}/parent.json` }).rejects(noSuchKey());
      mock('batch').on(ListJobsCommand).resolves(sweepJobsList({ start: 'RUNNING' }));
      return parse(sweepCloudCommand(deps), ['--status', SWEEP_ID]);
    }],
    ['sweep --stop while cells train', () => {
      mock('batch').on(ListJobsCommand, { jobQueue: SWEEP_OUTPUTS.SweepJobQueueArn }).resolves(sweepJobsList({ start: 'SUCCEEDED', cells: 'PENDING' }));
      mock('batch').on(ListJobsCommand, { arrayJobId: CELLS_JOB_ID }).resolves(childrenList([1], 'RUNNING'));
      mock('batch').on(DescribeJobsCommand).resolves(describeArrayJob({ RUNNING: 1 }));
      mock('batch').on(TerminateJobCommand).resolves({});
      return parse(sweepCloudCommand(deps), ['--stop', SWEEP_ID]);
    }],
    ['sweep --stop before the cells', () => {
      mock('batch').on(ListJobsCommand).resolves(sweepJobsList({ start: 'RUNNING' }));
      mock('states').on(StopExecutionCommand).resolves({ stopDate: new Date() });
      return parse(sweepCloudCommand(deps), ['--stop', SWEEP_ID]);
    }],
    ['cloud:sleep', () => powerCommand('sleep', deps).exitOverride().parseAsync([], { from: 'user' })],
    ['cloud:check, as an IAM Identity Center role, with a prebuilt trainer image in ECR', () => {
      const name = 'AWSReservedSSO_Developer_0123456789abcdef';
      mock('sts').on(GetCallerIdentityCommand).resolves(callerIdentity(`arn:aws:sts::${ACCOUNT}:assumed-role/${name}/alice`));
      mock('iam').on(GetRoleCommand).resolves(role(name, '/aws-reserved/sso.amazonaws.com/'));
      mock('iam').on(SimulatePrincipalPolicyCommand).callsFake(async (input: { ActionNames: string[] }) => simulation(Object.fromEntries(input.ActionNames.map((a) => [a, 'allowed']))));
      mock('ec2').on(DescribeAvailabilityZonesCommand).resolves(availabilityZones(['eu-west-1a', 'eu-west-1b']));
      mock('ec2').on(DescribeInstanceTypeOfferingsCommand).resolves(offerings('g4dn.xlarge', ['eu-west-1a']));
      mock('ssm').on(GetParameterCommand).resolves(parameter('/cdk-bootstrap/hnb659fds/version', '21'));
      mock('ecr').on(DescribeImagesCommand).resolves(ecrImage('malaria/trainer', `sha256:${'a'.repeat(64)}`));
      return cloudCheckCommand({
        clients: createAwsClients, docker: () => ({ available: true, serverVersion: '27.3.1' }), profileRegion: async () => undefined, env: { AWS_REGION: REGION },
        synth: async () => ({ requiredBootstrapVersion: 8, requiredBy: 'lookups', bootstrapVersionParameter: '/cdk-bootstrap/hnb659fds/version', warnings: [] }),
        print: () => undefined, setExitCode: () => undefined,
      }).exitOverride().parseAsync(['node', 'x', '-c', `trainerImage=${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/malaria/trainer@sha256:${'a'.repeat(64)}`]);
    }],
    ['cloud:wake', () => {
      mock('rds').on(DescribeDBInstancesCommand).resolves({ DBInstances: [{ DBInstanceStatus: 'stopped' }] });
      return powerCommand('wake', { ...deps, waitForDatabase: async () => undefined }).exitOverride().parseAsync([], { from: 'user' });
    }],
  ];

  test.each(scenarios)('%s', async (_name, scenario) => {
    answerAsDeployed();
    await scenario();
    const requests = sentRequests();
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((request) => !isAllowed(policy, request))).toEqual([]);
  });

  test('reading a sweep\'s files asks to list only under sweeps/, so a missing parent.json is a 404 and nothing else can be listed', () => {
    const list = (prefix: string): AuthRequest => ({ action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}`, context: { 's3:prefix': prefix } });
    expect(isAllowed(policy, list(`sweeps/${SWEEP_ID}/parent.json`))).toBe(true);
    expect(isAllowed(policy, list('mlflow-artifacts/1/'))).toBe(false);
    expect(isAllowed(policy, { action: 's3:ListBucket', resource: `arn:aws:s3:::${BUCKET}` })).toBe(false);
  });
});
