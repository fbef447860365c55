import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeAvailabilityZonesCommand, DescribeInstanceTypeOfferingsCommand, DescribeInstanceTypesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { GetRoleCommand, IAMClient, type PolicyEvaluationDecisionType, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { TRAINER_AMI_PARAMETER } from '../../lib/config';
import type { DockerState } from '../../lib/docker-probe';
import { createAwsClients } from '../../lib/launcher/aws-clients';
import type { CheckReport } from '../../lib/launcher/cloud-check/check-result';
import { cloudCheckCommand } from '../../lib/launcher/cloud-check/cloud-check-command';
import { availabilityZonesKey, ssmParameterKey } from '../../lib/launcher/cloud-check/deploy-context';
import type { SynthFacts } from '../../lib/launcher/cloud-check/synth-facts';
import {
  appliedQuota, availabilityZones, awsError, callerIdentity, defaultQuota, ecrImage, instanceTypes, noAppliedQuota, offerings, parameter,
  parameterNotFound, role, simulation,
} from './cloud-aws-responses';
import { ACCOUNT, REGION } from './sweep-aws-responses';

const sts = mockClient(STSClient);
const serviceQuotas = mockClient(ServiceQuotasClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const iam = mockClient(IAMClient);
const ecr = mockClient(ECRClient);
const mocks = [sts, serviceQuotas, ec2, ssm, iam, ecr];

const ALICE = `arn:aws:iam::${ACCOUNT}:user/alice`;
const BOOTSTRAP_PARAMETER = '/cdk-bootstrap/hnb659fds/version';
const AMI = 'ami-0a1b2c3d4e5f60718';
const ZONES = ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'];
const TRAINER_IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/malaria/trainer@sha256:${'a'.repeat(64)}`;
const MLFLOW_IMAGE = `ghcr.io/acme/mlflow@sha256:${'b'.repeat(64)}`;

/** What a synth of the default app for an account without recorded lookups says (test/lib/cloud-check-synth.test.ts checks the real one). */
const FACTS: SynthFacts = {
  requiredBootstrapVersion: 8, requiredBy: 'its lookups (availability-zones, ssm) through the lookup role', bootstrapVersionParameter: BOOTSTRAP_PARAMETER, warnings: [],
};
const DOCKER_RUNNING: DockerState = { available: true, serverVersion: '27.3.1' };
const NO_DOCKER: DockerState = { available: false, problem: '`docker` is not installed here (not found on PATH)' };

/** An account ready for a first deploy: a GPU quota, g4dn in every zone, bootstrapped, the AMI published, every action allowed. */
function healthyAccount(decisions: (actions: string[]) => Record<string, PolicyEvaluationDecisionType> = (actions) => Object.fromEntries(actions.map((a) => [a, 'allowed']))) {
  for (const mock of mocks) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves(callerIdentity(ALICE));
  serviceQuotas.on(GetServiceQuotaCommand).callsFake(async (input: { QuotaCode: string }) => appliedQuota(input.QuotaCode, 64));
  ec2.on(DescribeAvailabilityZonesCommand).resolves(availabilityZones(ZONES));
  ec2.on(DescribeInstanceTypeOfferingsCommand).callsFake(async (input: { Filters: Array<{ Values: string[] }> }) => ({
    InstanceTypeOfferings: input.Filters[0].Values.flatMap((type) => offerings(type, ZONES).InstanceTypeOfferings ?? []),
  }));
  ssm.on(GetParameterCommand, { Name: BOOTSTRAP_PARAMETER }).resolves(parameter(BOOTSTRAP_PARAMETER, '21'));
  ssm.on(GetParameterCommand, { Name: TRAINER_AMI_PARAMETER }).resolves(parameter(TRAINER_AMI_PARAMETER, AMI));
  iam.on(SimulatePrincipalPolicyCommand).callsFake(async (input: { ActionNames: string[] }) => simulation(decisions(input.ActionNames)));
}

interface RunOptions {
  readonly docker?: DockerState;
  readonly facts?: SynthFacts | Error;
  readonly env?: NodeJS.ProcessEnv;
  readonly profileRegion?: string;
  /** cdk.context.json as the CDK CLI left it after earlier lookups. */
  readonly recorded?: Record<string, unknown>;
}

const ROOT = path.join(__dirname, '../..');

/** A project folder with this repository's cdk.json and the given cdk.context.json. */
function projectWith(recorded: Record<string, unknown>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'cdk-project-'));
  copyFileSync(path.join(ROOT, 'cdk.json'), path.join(root, 'cdk.json'));
  writeFileSync(path.join(root, 'cdk.context.json'), JSON.stringify(recorded));
  return root;
}

async function cloudCheck(args: string[], options: RunOptions = {}) {
  const printed: string[] = [];
  const regions: string[] = [];
  let exitCode: number | undefined;
  let dockerAsked = 0;
  const command = cloudCheckCommand({
    clients: (region) => {
      regions.push(region);
      return createAwsClients(region);
    },
    docker: () => {
      dockerAsked += 1;
      return options.docker ?? DOCKER_RUNNING;
    },
    synth: async () => {
      const facts = options.facts ?? FACTS;
      if (facts instanceof Error) throw facts;
      return facts;
    },
    profileRegion: async () => options.profileRegion,
    env: options.env ?? { AWS_REGION: REGION },
    print: (line) => printed.push(line),
    setExitCode: (code) => {
      exitCode = code;
    },
    contextSources: { root: projectWith(options.recorded ?? {}), home: '/nonexistent' },
  });
  command.exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  await command.parseAsync(['node', 'cloud-check', ...args]);
  const line = (title: string) => printed.find((l) => new RegExp(`^ {2}(ok|warn|FAIL|info) +${title} `).test(l));
  /** The check's line and its fix lines below it. */
  const block = (title: string) => {
    const start = printed.findIndex((l) => new RegExp(`^ {2}(ok|warn|FAIL|info) +${title} `).test(l));
    const end = printed.findIndex((l, i) => i > start && /^ {2}\S/.test(l));
    return printed.slice(start, end < 0 ? undefined : end).join('\n');
  };
  return { printed, exitCode, regions, line, block, dockerAsked, out: printed.join('\n') };
}

const writes = () => mocks.flatMap((mock) => mock.calls().map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name))
  .filter((name) => !/^(Get|Describe|List|Simulate)/.test(name));

beforeEach(() => healthyAccount());

describe('npm run cloud:check on an account ready for a first deploy', () => {
  test('one line per check, each ok; it says it is read-only and that the deploy can go ahead; exit 0', async () => {
    const run = await cloudCheck([]);
    expect(run.printed[0]).toBe(`cloud:check of env dev in account ${ACCOUNT}, ${REGION}; read-only: it looks, and creates or changes nothing`);
    expect(run.line('credentials')).toMatch(new RegExp(`^ {2}ok {4}credentials +${ALICE}, account ${ACCOUNT}, region eu-west-1 \\(from AWS_REGION\\)$`));
    expect(run.line('configuration')).toMatch(/ok .*env dev: trainer g4dn.xlarge, sweeps up to 4 × g4dn.xlarge, MLflow through a tunnel only/);
    expect(run.line('GPU quota, on-demand')).toMatch(/ok .*"Running On-Demand G and VT instances" \(L-DB2E81BA\) is 64 vCPUs in eu-west-1; the trainer 4 \(a g4dn.xlarge\); sweeps 4 per g4dn.xlarge, 16 for all 4 at once: room for all at once \(20\)/);
    expect(run.line('GPU quota, spot')).toMatch(/info .*"All G and VT Spot Instance Requests" \(L-3819A6DF\) is 64 vCPUs in eu-west-1; -c spot=true would need 20: room for it/);
    expect(run.line('g4dn.xlarge offered')).toMatch(/ok .*for the trainer and sweeps: in 3 zones of eu-west-1; the VPC's zones eu-west-1a, eu-west-1b both offer it/);
    expect(run.line('CDK bootstrap')).toMatch(/ok .*version 21 in eu-west-1; this app needs 8 or later for its lookups/);
    expect(run.line('trainer AMI')).toMatch(new RegExp(`ok .*${AMI} in eu-west-1 \\(the first deploy pins it in cdk.context.json`));
    expect(run.line('permissions')).toMatch(/ok .*all 3\d actions of docs\/deployer-policy.json allowed/);
    expect(run.line('images')).toMatch(/ok .*trainer: built with Docker here \(Docker 27.3.1\); MLflow: built with Docker here/);
    expect(run.line('notice e-mail')).toMatch(/info .*none; -c notifyEmail=you@example.com/);
    expect(run.line('cost')).toMatch(/info .*idle about \$73.00 a month .*about \$36.90 with npm run cloud:sleep.*a run \$0.59\/h on g4dn.xlarge, at most \$2.35 \(maxRuntimeMinutes 240\); a sweep at most \$2.35\/h \(4 × g4dn.xlarge\)/);
    expect(run.printed.at(-1)).toBe('nothing stands in the way: npx cdk deploy --all -c env=dev');
    expect(run.printed.filter((l) => /^ {2}FAIL|^ {2}warn/.test(l))).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(writes()).toEqual([]);
  });

  test('--json gives the same checks for CI', async () => {
    const run = await cloudCheck(['--json']);
    const report = JSON.parse(run.out) as CheckReport;
    expect(report).toMatchObject({ readOnly: true, ok: true, envName: 'dev', account: ACCOUNT, region: REGION });
    expect(report.checks.map((c) => c.id)).toEqual(expect.arrayContaining(['credentials', 'configuration', 'synth', 'gpu-quota-L-DB2E81BA', 'offered-g4dn.xlarge', 'bootstrap', 'trainer-ami', 'permissions', 'images', 'cost']));
    expect(run.exitCode).toBe(0);
  });

  test('reads the context cdk deploy reads: -c values and --env', async () => {
    const run = await cloudCheck(['--env', 'alice', '-c', 'spot=true', '-c', 'instanceType=g5.2xlarge']);
    expect(run.printed[0]).toMatch(/^cloud:check of env alice /);
    expect(run.line('GPU quota, spot')).toMatch(/"All G and VT Spot Instance Requests" \(L-3819A6DF\) is 64 vCPUs .*the trainer 8 \(a g5.2xlarge\)/);
    expect(run.line('g5.2xlarge offered')).toMatch(/for the trainer:/);
    expect(run.line('g4dn.xlarge offered')).toMatch(/for sweeps:/);
    expect(run.printed.at(-1)).toBe('nothing stands in the way: npx cdk deploy --all -c env=alice');
  });
});

describe('credentials', () => {
  test('none: one line says so and what to do; exit 1; nothing else is asked', async () => {
    sts.on(GetCallerIdentityCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    const run = await cloudCheck([]);
    expect(run.printed).toEqual([
      'cloud:check: no AWS credentials (Could not load credentials from any providers): run `aws configure` or `aws sso login`, '
      + 'or set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); nothing else was checked',
    ]);
    expect(run.exitCode).toBe(1);
    expect(mocks.filter((m) => m !== sts).every((m) => m.calls().length === 0)).toBe(true);
  });

  test('expired: says AWS refused them', async () => {
    sts.on(GetCallerIdentityCommand).rejects(awsError('ExpiredToken', 'The security token included in the request is expired', 403));
    const run = await cloudCheck([]);
    expect(run.printed).toEqual([expect.stringMatching(/^cloud:check: AWS refused the credentials \(ExpiredToken: .*\): renew them/)]);
    expect(run.exitCode).toBe(1);
  });

  test('no region anywhere: the check uses us-east-1, as cdk deploy would, and says so', async () => {
    const run = await cloudCheck([], { env: {} });
    expect(run.regions).toEqual(['us-east-1']);
    expect(run.line('credentials')).toContain('region us-east-1 (none set: cdk deploy uses us-east-1 then too; set AWS_REGION or pass --region)');
  });

  test('the region of the AWS profile, or --region', async () => {
    expect((await cloudCheck([], { env: {}, profileRegion: 'eu-central-1' })).line('credentials')).toContain('region eu-central-1 (from your AWS profile)');
    expect((await cloudCheck(['--region', 'ap-south-1'])).regions).toEqual(['ap-south-1']);
  });
});

describe('configuration', () => {
  test('a mistyped key: the app\'s own message with its "did you mean", and nothing else checked', async () => {
    const run = await cloudCheck(['-c', 'instancetype=g5.xlarge']);
    expect(run.block('configuration')).toMatch(/FAIL .*1 problem; nothing else was checked\n +fix: instancetype = "g5.xlarge": unknown key; did you mean instanceType\?/);
    expect(ec2.calls()).toHaveLength(0);
    expect(run.exitCode).toBe(1);
  });

  test('a -c without a value is refused as bad input', async () => {
    await expect(cloudCheck(['-c', 'spot'])).rejects.toThrow('-c spot: give key=value, as for cdk deploy');
  });

  test('an app that does not synthesize: fail, with the first line of why', async () => {
    const run = await cloudCheck([], { facts: new Error('Validation failed with the following errors:\n  [MalariaTraining-dev] AwsSolutions-IAM5') });
    expect(run.block('synth')).toMatch(/FAIL .*the app does not synthesize: Validation failed with the following errors:\n +fix: npx cdk synth -c env=dev shows it in full/);
    expect(run.line('CDK bootstrap')).toBeUndefined();
    expect(run.exitCode).toBe(1);
  });
});

describe('GPU quota', () => {
  test('0 vCPUs: fail, with the request command, the console page and how long it takes', async () => {
    serviceQuotas.on(GetServiceQuotaCommand).resolves(appliedQuota('L-DB2E81BA', 0));
    const run = await cloudCheck([]);
    expect(run.block('GPU quota, on-demand')).toBe([
      '  FAIL  GPU quota, on-demand  "Running On-Demand G and VT instances" (L-DB2E81BA) is 0 vCPUs in eu-west-1; the trainer 4 (a g4dn.xlarge); '
      + 'sweeps 4 per g4dn.xlarge, 16 for all 4 at once: the trainer and sweeps could never start an instance',
      `${' '.repeat(30)}fix: aws service-quotas request-service-quota-increase --region eu-west-1 --service-code ec2 --quota-code L-DB2E81BA --desired-value 20`,
      `${' '.repeat(30)}     or in the console: https://eu-west-1.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/L-DB2E81BA`,
      `${' '.repeat(30)}     small increases on an account with some billing history are often approved within an hour; a new account can wait one to three business days, and AWS support may ask what it is for`,
    ].join('\n'));
    expect(run.printed.at(-1)).toBe('1 check failed: a deploy would stop on it. Fix it, then run npm run cloud:check again.');
    expect(run.exitCode).toBe(1);
  });

  test('room for the trainer but not every sweep instance at once: a warning with the request for all, exit 0', async () => {
    serviceQuotas.on(GetServiceQuotaCommand).resolves(appliedQuota('L-DB2E81BA', 8));
    const run = await cloudCheck([]);
    expect(run.block('GPU quota, on-demand')).toMatch(/warn .*is 8 vCPUs .*not all at once \(other GPU instances of the account count against it too\)[^]*--desired-value 20/);
    expect(run.exitCode).toBe(0);
  });

  test('a quota never applied to the account: AWS\'s default', async () => {
    serviceQuotas.on(GetServiceQuotaCommand).rejects(noAppliedQuota());
    serviceQuotas.on(GetAWSDefaultServiceQuotaCommand).resolves(defaultQuota('L-DB2E81BA', 0));
    expect((await cloudCheck([])).line('GPU quota, on-demand')).toMatch(/FAIL .*is 0 vCPUs/);
  });

  test('a type outside the project\'s table is sized by EC2; P types count against the P quotas', async () => {
    ec2.on(DescribeInstanceTypesCommand).resolves(instanceTypes({ 'p5.48xlarge': 192 }));
    serviceQuotas.on(GetServiceQuotaCommand, { QuotaCode: 'L-417A185B' }).resolves(appliedQuota('L-417A185B', 96));
    const run = await cloudCheck(['-c', 'instanceType=p5.48xlarge']);
    expect(run.line('GPU quota, on-demand')).toMatch(/FAIL .*"Running On-Demand P instances" \(L-417A185B\) is 96 vCPUs in eu-west-1; the trainer 192 \(a p5.48xlarge\): the trainer could never start/);
    expect(run.printed.filter((l) => l.includes('GPU quota, on-demand'))).toHaveLength(2);
    expect(run.line('GPU quota, spot')).toMatch(/info .*"All P5 Spot Instance Requests" \(L-C4BD4855\) is 64 vCPUs in eu-west-1; -c spot=true would need 192$/);
  });

  test('a quota it may not read: a warning that names the permission', async () => {
    serviceQuotas.on(GetServiceQuotaCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: servicequotas:GetServiceQuota'));
    const run = await cloudCheck([]);
    expect(run.block('GPU quota, on-demand')).toMatch(/warn .*could not read "Running On-Demand G and VT instances" \(AccessDeniedException: .*\)\n +fix: allow servicequotas:GetServiceQuota/);
    expect(run.exitCode).toBe(0);
  });
});

describe('instance type offered', () => {
  test('not offered in the region: fail, with how to find a region that has it', async () => {
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(offerings('g4dn.xlarge', []));
    const run = await cloudCheck([]);
    expect(run.block('g4dn.xlarge offered')).toMatch(/FAIL .*g4dn.xlarge \(for the trainer and sweeps\) is not offered in eu-west-1 at all\n +fix: choose another type \(-c instanceType=<type> -c sweepInstanceType=<type>\), or a region that offers it[^]*describe-instance-type-offerings --region \$r --filters Name=instance-type,Values=g4dn.xlarge/);
    expect(run.exitCode).toBe(1);
  });

  test('offered only outside the VPC\'s zones: fail, with the cdk.context.json entry that moves the VPC there', async () => {
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(offerings('g4dn.xlarge', ['eu-west-1c']));
    const run = await cloudCheck([]);
    expect(run.block('g4dn.xlarge offered')).toContain(`is offered in eu-west-1c, none of the VPC's zones eu-west-1a, eu-west-1b`);
    expect(run.block('g4dn.xlarge offered')).toContain(`"${availabilityZonesKey(ACCOUNT, REGION)}": ["eu-west-1c","eu-west-1a","eu-west-1b"]`);
  });

  test('zones recorded in cdk.context.json are the ones checked, not looked up again', async () => {
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(offerings('g4dn.xlarge', ['eu-west-1c']));
    const run = await cloudCheck([], { recorded: { [availabilityZonesKey(ACCOUNT, REGION)]: ['eu-west-1c', 'eu-west-1a', 'eu-west-1b'] } });
    expect(run.line('g4dn.xlarge offered')).toMatch(/ok .*only eu-west-1c of the VPC's zones/);
    expect(ec2.commandCalls(DescribeAvailabilityZonesCommand)).toHaveLength(0);
  });

  test('offered in one of the two zones: ok, and says where the instances will go', async () => {
    ec2.on(DescribeInstanceTypeOfferingsCommand).resolves(offerings('g4dn.xlarge', ['eu-west-1b', 'eu-west-1c']));
    expect((await cloudCheck([])).line('g4dn.xlarge offered')).toMatch(/ok .*only eu-west-1b of the VPC's zones, where the instances will go/);
  });
});

describe('CDK bootstrap', () => {
  test('not bootstrapped: fail, with the command and who may run it', async () => {
    ssm.on(GetParameterCommand, { Name: BOOTSTRAP_PARAMETER }).rejects(parameterNotFound());
    const run = await cloudCheck([]);
    expect(run.block('CDK bootstrap')).toMatch(new RegExp(`FAIL .*account ${ACCOUNT} is not bootstrapped in eu-west-1 \\(no ${BOOTSTRAP_PARAMETER}\\)\\n +fix: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1\\n +\\(once per account and region, by someone who may create IAM roles`));
    expect(run.exitCode).toBe(1);
  });

  test('bootstrapped before the lookup role existed: fail, naming what needs the newer version', async () => {
    ssm.on(GetParameterCommand, { Name: BOOTSTRAP_PARAMETER }).resolves(parameter(BOOTSTRAP_PARAMETER, '6'));
    expect((await cloudCheck([])).block('CDK bootstrap')).toMatch(/FAIL .*version 6 in eu-west-1; this app needs 8 or later for its lookups \(availability-zones, ssm\) through the lookup role\n +fix: npx cdk bootstrap aws:\/\/\d+\/eu-west-1 \(updates the bootstrap stack in place\)/);
  });
});

describe('trainer AMI', () => {
  test('not published in the region: fail', async () => {
    ssm.on(GetParameterCommand, { Name: TRAINER_AMI_PARAMETER }).rejects(parameterNotFound());
    expect((await cloudCheck([])).block('trainer AMI')).toMatch(/FAIL .*the Deep Learning Base OSS Nvidia Driver AMI is not published in eu-west-1 .*\n +fix: deploy to a region that has it; to check one: aws ssm get-parameter --region <region>/);
  });

  test('pinned in cdk.context.json: that AMI, without asking', async () => {
    const run = await cloudCheck([], { recorded: { [ssmParameterKey(ACCOUNT, REGION, TRAINER_AMI_PARAMETER)]: 'ami-0fedcba9876543210' } });
    expect(run.line('trainer AMI')).toMatch(/ok .*ami-0fedcba9876543210, pinned in cdk.context.json/);
    expect(ssm.commandCalls(GetParameterCommand).map((c) => c.args[0].input.Name)).toEqual([BOOTSTRAP_PARAMETER]);
  });
});

describe('permissions', () => {
  test('simulates each statement of docs/deployer-policy.json with a resource and condition of its shape', async () => {
    await cloudCheck([]);
    const inputs = iam.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
    expect(inputs.every((i) => i.PolicySourceArn === ALICE)).toBe(true);
    expect(inputs).toEqual(expect.arrayContaining([
      expect.objectContaining({ ActionNames: ['sts:AssumeRole'], ResourceArns: [`arn:aws:iam::${ACCOUNT}:role/cdk-hnb659fds-cloud-check`] }),
      expect.objectContaining({
        ActionNames: ['s3:ListBucket'], ResourceArns: ['arn:aws:s3:::cloud-check'],
        ContextEntries: [{ ContextKeyName: 's3:prefix', ContextKeyType: 'string', ContextKeyValues: ['sweeps/cloud-check'] }],
      }),
    ]));
  });

  test('a launcher action denied: named with its statement, a warning (deploy works), and the command that attaches the policy', async () => {
    healthyAccount((actions) => Object.fromEntries(actions.map((a) => [a, a === 'states:ListExecutions' ? 'implicitDeny' : 'allowed'])));
    const run = await cloudCheck([]);
    expect(run.block('permissions')).toMatch(new RegExp(`warn .*1 of the 3\\d actions of docs/deployer-policy.json denied to ${ALICE}: states:ListExecutions \\(SweepsOnBatch\\); cdk deploy works, the launchers that make these calls will not\\n`
      + ' +fix: an administrator runs: aws iam put-user-policy --user-name alice --policy-name malaria-mlops-deployer --policy-document file://docs/deployer-policy.json'));
    expect(run.exitCode).toBe(0);
  });

  test('the bootstrap roles denied: fail, since cdk deploy cannot work', async () => {
    healthyAccount((actions) => Object.fromEntries(actions.map((a) => [a, a === 'sts:AssumeRole' ? 'explicitDeny' : 'allowed'])));
    const run = await cloudCheck([]);
    expect(run.line('permissions')).toMatch(/FAIL .*sts:AssumeRole \(CdkDeployThroughTheBootstrapRoles, denied explicitly\); cdk deploy cannot assume the bootstrap roles/);
    expect(run.exitCode).toBe(1);
  });

  test('an IAM Identity Center role: simulated as its role (path included), and the fix goes through the permission set', async () => {
    const name = 'AWSReservedSSO_Developer_0123456789abcdef';
    healthyAccount((actions) => Object.fromEntries(actions.map((a) => [a, a.startsWith('ec2:') ? 'implicitDeny' : 'allowed'])));
    sts.on(GetCallerIdentityCommand).resolves(callerIdentity(`arn:aws:sts::${ACCOUNT}:assumed-role/${name}/alice@example.com`));
    iam.on(GetRoleCommand, { RoleName: name }).resolves(role(name, '/aws-reserved/sso.amazonaws.com/eu-west-1/'));
    const run = await cloudCheck([]);
    expect(iam.commandCalls(SimulatePrincipalPolicyCommand)[0].args[0].input.PolicySourceArn).toBe(`arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/${name}`);
    expect(run.block('permissions')).toMatch(/denied .*ec2:DescribeInstanceTypes \(GpuQuotaAndCloudCheck\)[^]*fix: ask whoever runs IAM Identity Center to add docs\/deployer-policy.json to your permission set/);
  });

  test('no right to simulate: a warning that says what to allow', async () => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(awsError('AccessDenied', `User: ${ALICE} is not authorized to perform: iam:SimulatePrincipalPolicy`, 403));
    expect((await cloudCheck([])).block('permissions')).toMatch(/warn .*could not read what .* may do \(AccessDenied: .*\)\n +fix: allow iam:SimulatePrincipalPolicy on yourself/);
  });
});

describe('images', () => {
  test('no Docker and nothing prebuilt: fail, naming both images and the two ways out', async () => {
    const run = await cloudCheck([], { docker: NO_DOCKER });
    expect(run.block('images')).toMatch(/FAIL .*trainer: built with Docker here, and there is none \(`docker` is not installed here.*\n +fix: cdk deploy builds the trainer image \(trainer\/Dockerfile\) and the MLflow image \(mlflow-stack\/\) with Docker on this machine.*-c imageBuild=codebuild/);
    expect(run.exitCode).toBe(1);
  });

  test('one prebuilt image and no Docker: names the image that still needs building', async () => {
    ecr.on(DescribeImagesCommand).resolves(ecrImage('malaria/trainer', `sha256:${'a'.repeat(64)}`));
    const run = await cloudCheck(['-c', `trainerImage=${TRAINER_IMAGE}`], { docker: NO_DOCKER });
    expect(run.line('images')).toMatch(/FAIL .*trainer: prebuilt .* is in ECR, pushed 2026-11-29, 3.7 GiB; MLflow: built with Docker here, and there is none/);
    expect(run.block('images')).toContain('cdk deploy builds the MLflow image (mlflow-stack/) with Docker on this machine, and `docker` is not installed here (not found on PATH). The trainer image is prebuilt (trainerImage). Two ways out: -c mlflowImage=');
  });

  test('a prebuilt digest that is not in ECR: fail, with how to push it or find the one that is', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', `The image with imageId {imageDigest:'sha256:${'a'.repeat(64)}'} does not exist within the repository with name 'malaria/trainer'`));
    const run = await cloudCheck(['-c', `trainerImage=${TRAINER_IMAGE}`, '-c', `mlflowImage=${MLFLOW_IMAGE}`], { docker: NO_DOCKER });
    expect(ecr.commandCalls(DescribeImagesCommand)[0].args[0].input).toEqual({ registryId: ACCOUNT, repositoryName: 'malaria/trainer', imageIds: [{ imageDigest: `sha256:${'a'.repeat(64)}` }] });
    expect(run.block('images')).toMatch(/FAIL .*trainer: .*no image with this digest in malaria\/trainer \(account \d+, eu-west-1\); MLflow: prebuilt ghcr.io\/acme\/mlflow@sha256:b+… \(not in ECR: not looked at here; pulled at run time\)\n +fix: push it first/);
  });

  test('imageBuild=codebuild: nothing needed here, Docker not even asked', async () => {
    const run = await cloudCheck(['-c', 'imageBuild=codebuild'], { docker: NO_DOCKER });
    expect(run.line('images')).toMatch(/ok .*trainer: built in AWS CodeBuild during the deploy/);
    expect(run.dockerAsked).toBe(0);
  });

  test('the notice e-mail, when set: a reminder of the confirmation it needs', async () => {
    expect((await cloudCheck(['-c', 'notifyEmail=team@example.com'])).line('notice e-mail'))
      .toMatch(/info .*each run's outcome goes to team@example.com once subscribed: AWS e-mails a confirmation link during the deploy/);
  });
});

test('the warnings a deploy prints are shown before it', async () => {
  const run = await cloudCheck([], { facts: { ...FACTS, warnings: ['trainOnDeploy=true: this deploy starts a paid GPU run'] } });
  expect(run.line('deploy warns')).toMatch(/info .*trainOnDeploy=true: this deploy starts a paid GPU run/);
});

test('npm run cloud:check without credentials, as a user types it: one line, exit 1', () => {
  const home = mkdtempSync(path.join(tmpdir(), 'no-aws-'));
  const result = spawnSync('npm', ['run', 'cloud:check'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 110_000,
    // No credentials anywhere, and no instance metadata service to ask.
    env: { PATH: process.env.PATH, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', npm_config_update_notifier: 'false' },
  });
  const own = result.stdout.split('\n').filter((l) => l && !l.startsWith('> '));
  expect(own).toEqual([expect.stringMatching(/^cloud:check: no AWS credentials \(.*\): run `aws configure` or `aws sso login`, or set AWS_PROFILE .*; nothing else was checked$/)]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(1);
});
