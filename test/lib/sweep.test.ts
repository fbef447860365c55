import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { jobResources, JOB_MEMORY_SHARE, SWEEP_INSTANCE_SIZES } from '../../lib/gpu-instance-sizes';
import { SweepCompute } from '../../lib/sweep-compute';
import { SweepJobDefinition } from '../../lib/sweep-job-definition';
import { buildApp, type BuiltApp } from './build-app';
import { allowStatements, asArray, resourcesOfType, text, type Resource } from './template-queries';

let base: BuiltApp;
let spot: BuiltApp;
beforeAll(() => {
  base = buildApp();
  spot = buildApp({ env: 'alice', spot: 'true', sweepInstanceType: 'g5.2xlarge', sweepMaxInstances: '10', maxRuntimeMinutes: '600' });
});

const only = (built: BuiltApp, type: string): Resource => {
  const found = resourcesOfType(built.training, type);
  expect(found).toHaveLength(1);
  return found[0][1];
};

/** The state machine's definition with every CloudFormation reference shown as <ref>. */
function definition(built: BuiltApp): { StartAt: string; States: Record<string, any> } {
  const body = only(built, 'AWS::StepFunctions::StateMachine').Properties?.DefinitionString;
  const [separator, parts] = body['Fn::Join'] as [string, unknown[]];
  return JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '<ref>')).join(separator));
}

describe('compute environment', () => {
  test('only the configured GPU type: no optimal CPU classes added', () => {
    const resources = only(base, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources;
    expect(resources.InstanceTypes).toEqual(['g4dn.xlarge']);
    expect(only(spot, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources.InstanceTypes).toEqual(['g5.2xlarge']);
  });

  test('the ECS GPU-optimized AMI, so the instances have the NVIDIA driver and container runtime', () => {
    expect(only(base, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources.Ec2Configuration).toEqual([{ ImageType: 'ECS_AL2023_NVIDIA' }]);
  });

  test('scales to zero, up to sweepMaxInstances instances of the type', () => {
    const resources = only(base, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources;
    expect(resources.MinvCpus).toBe(0);
    expect(resources.MaxvCpus).toBe(4 * 4);
    expect(resources.DesiredvCpus).toBeUndefined();
    expect(only(spot, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources.MaxvCpus).toBe(10 * 8);
  });

  test.each([
    ['on-demand by default', () => base, 'EC2', 'BEST_FIT_PROGRESSIVE'],
    ['spot with -c spot=true', () => spot, 'SPOT', 'SPOT_PRICE_CAPACITY_OPTIMIZED'],
  ])('%s', (_name, built, type, strategy) => {
    const resources = only(built(), 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources;
    expect(resources.Type).toBe(type);
    expect(resources.AllocationStrategy).toBe(strategy);
  });

  test('in the trainer\'s public subnets and security group, which admits nothing', () => {
    const resources = only(base, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources;
    expect(resources.SecurityGroupIds.map(text)).toEqual([expect.stringContaining('MlflowClientSecurityGroup')]);
    expect(resources.Subnets.map(text)).toEqual([expect.stringContaining('publicSubnet1'), expect.stringContaining('publicSubnet2')]);
    base.training.resourceCountIs('AWS::EC2::SecurityGroup', 0);
  });

  test('its launch template: IMDSv2 only with a hop limit of 2, an encrypted gp3 root volume', () => {
    const templateId = text(only(base, 'AWS::Batch::ComputeEnvironment').Properties?.ComputeResources.LaunchTemplate.LaunchTemplateId);
    const [, template] = resourcesOfType(base.training, 'AWS::EC2::LaunchTemplate').find(([id]) => templateId.includes(id))!;
    const data = template.Properties?.LaunchTemplateData;
    expect(data.MetadataOptions).toEqual({ HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' });
    expect(data.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 100, VolumeType: 'gp3' } }]);
  });

  test('an update never cuts running children off', () => {
    const environment = only(base, 'AWS::Batch::ComputeEnvironment').Properties;
    expect(environment?.UpdatePolicy).toEqual({ TerminateJobsOnUpdate: false });
    expect(environment?.ReplaceComputeEnvironment).toBe(false);
  });

  test('the queue feeds it, and cancels jobs that could never be placed instead of leaving them RUNNABLE', () => {
    const queue = only(base, 'AWS::Batch::JobQueue').Properties;
    expect(text(queue?.ComputeEnvironmentOrder[0].ComputeEnvironment)).toContain('SweepComputeComputeEnvironment');
    expect(queue?.JobStateTimeLimitActions).toEqual(expect.arrayContaining([
      { Action: 'CANCEL', State: 'RUNNABLE', Reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', MaxTimeSeconds: 600 },
      { Action: 'CANCEL', State: 'RUNNABLE', Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', MaxTimeSeconds: 4 * 3600 },
    ]));
  });
});

describe('job definition', () => {
  const container = (built: BuiltApp) => only(built, 'AWS::Batch::JobDefinition').Properties?.ContainerProperties;
  const requirement = (built: BuiltApp, type: string) => container(built).ResourceRequirements.find((r: { Type: string }) => r.Type === type)?.Value;

  test('one GPU, declared, or the container would see none', () => {
    expect(requirement(base, 'GPU')).toBe('1');
  });

  test('memory and vCPUs that fit the instance (a larger request waits RUNNABLE for ever)', () => {
    expect(Number(requirement(base, 'MEMORY'))).toBe(14592);
    expect(Number(requirement(base, 'MEMORY'))).toBeLessThan(16 * 1024 * 0.95);
    expect(requirement(base, 'VCPU')).toBe('4');
    expect(Number(requirement(spot, 'MEMORY'))).toBeLessThan(32 * 1024 * 0.95);
  });

  test('runs the trainer image\'s sweep-cell, with the dataset cache and per-sweep checkpoints of train:cloud', () => {
    const command = container(base).Command.map(text);
    expect(command.slice(0, 4)).toEqual(['sweep-cell', '--plan', 'Ref::plan', '--require-gpu']);
    expect(command).toEqual(expect.arrayContaining(['--checkpoint-uri', 'Ref::checkpointUri', '--dataset-cache']));
    expect(command[command.indexOf('--dataset-cache') + 1]).toMatch(/^\{"Fn::Join".*ArtifactsBucket.*\/datasets\/malaria\/"\]\]\}$/);
    expect(text(container(base).Image)).toContain('cdk-hnb659fds-container-assets');
  });

  test('the MLflow settings of the trainer instance: the internal URL, the admin secret as secrets', () => {
    const environment = Object.fromEntries(container(base).Environment.map((e: { Name: string; Value: unknown }) => [e.Name, text(e.Value)]));
    expect(environment.MLFLOW_TRACKING_URI).toContain('MlflowInternalLoadBalancer');
    expect(container(base).Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, text(s.ValueFrom)])).toEqual([
      ['MLFLOW_TRACKING_USERNAME', expect.stringMatching(/MlflowAdminSecret.*:username::/)],
      ['MLFLOW_TRACKING_PASSWORD', expect.stringMatching(/MlflowAdminSecret.*:password::/)],
    ]);
  });

  test('retries a child whose host went away (spot reclaim) or that stopped itself on a spot notice; exits on anything else', () => {
    const retry = only(base, 'AWS::Batch::JobDefinition').Properties?.RetryStrategy;
    expect(retry.Attempts).toBeGreaterThan(1);
    expect(retry.EvaluateOnExit).toEqual(expect.arrayContaining([
      { Action: 'RETRY', OnStatusReason: 'Host EC2*' },
      { Action: 'RETRY', OnExitCode: '130' },
    ]));
    expect(retry.EvaluateOnExit.at(-1)).toEqual({ Action: 'EXIT', OnReason: '*' });
  });

  test('a time limit per child: maxRuntimeMinutes', () => {
    expect(only(base, 'AWS::Batch::JobDefinition').Properties?.Timeout).toEqual({ AttemptDurationSeconds: 240 * 60 });
    expect(only(spot, 'AWS::Batch::JobDefinition').Properties?.Timeout).toEqual({ AttemptDurationSeconds: 600 * 60 });
  });

  test('the job role holds the bucket policies of datasets/, checkpoints/ and sweeps/, and nothing else', () => {
    const roleId = text(container(base).JobRoleArn);
    const [id, role] = resourcesOfType(base.training, 'AWS::IAM::Role').find(([key]) => roleId.includes(key))!;
    expect(role.Properties?.ManagedPolicyArns.map(text)).toEqual([expect.stringContaining('TrainerDataAccess'), expect.stringContaining('SweepPlanAccess')]);
    const inline = resourcesOfType(base.training, 'AWS::IAM::Policy').filter(([, p]) => text(p.Properties?.Roles).includes(id));
    expect(inline).toEqual([]);
    const [, plans] = resourcesOfType(base.tracking, 'AWS::IAM::ManagedPolicy').find(([key]) => key.includes('SweepPlanAccess'))!;
    const objects = plans.Properties?.PolicyDocument.Statement.filter((s: Record<string, any>) => !asArray(s.Action).includes('s3:ListBucket'));
    expect(objects.flatMap((s: Record<string, any>) => asArray(s.Resource).map(text))).toEqual([expect.stringMatching(/\/sweeps\/\*/)]);
    expect(objects.flatMap((s: Record<string, any>) => s.Action)).not.toContain('s3:DeleteObject');
  });

  test('the execution role reads the MLflow secret and pulls the image', () => {
    const [executionRole] = container(base).ExecutionRoleArn['Fn::GetAtt'];
    const [, policy] = resourcesOfType(base.training, 'AWS::IAM::Policy').find(([, p]) => p.Properties?.Roles[0].Ref === executionRole)!;
    const actions = policy.Properties?.PolicyDocument.Statement.flatMap((s: Record<string, any>) => asArray(s.Action));
    expect(actions).toEqual(expect.arrayContaining(['secretsmanager:GetSecretValue', 'ecr:BatchGetImage']));
    expect(actions.some((a: string) => a.startsWith('s3:'))).toBe(false);
  });
});

describe('state machine', () => {
  test('sweep-start, then the cells as one array job waited on (.sync), then sweep-finish', () => {
    const { States } = definition(base);
    expect(States.StartSweep.Arguments.ContainerOverrides.Command).toEqual(['sweep-start', '--plan', "{% 's3://<ref>/sweeps/' & $sweepId & '/' %}"]);
    expect(States.StartSweep.Resource).toMatch(/:states:::batch:submitJob\.sync$/);
    expect(States.StartSweep.Next).toBe('OneCellOrMore');
    expect(States.OneCellOrMore.Default).toBe('TrainCells');
    expect(States.TrainCells.Resource).toMatch(/batch:submitJob\.sync$/);
    expect(States.TrainCells.Arguments.ArrayProperties).toEqual({ Size: '{% $cells %}' });
    expect(States.TrainCells.Arguments.Parameters).toEqual({
      plan: "{% 's3://<ref>/sweeps/' & $sweepId & '/' %}",
      checkpointUri: "{% 's3://<ref>/checkpoints/' & $sweepId & '/' %}",
    });
    expect(States.TrainCells.Next).toBe('FinishSweep');
    expect(States.FinishSweep.Arguments.ContainerOverrides.Command[0]).toBe('sweep-finish');
    expect(States[States.FinishSweep.Next].Type).toBe('Succeed');
  });

  test('sweep-finish runs even when cells failed, and the execution then ends failed', () => {
    const { States } = definition(base);
    for (const training of ['TrainCells', 'TrainTheCell']) {
      expect(States[training].Catch).toEqual([{ ErrorEquals: ['States.ALL'], Next: 'FinishAfterFailures' }]);
    }
    expect(States.FinishAfterFailures.Arguments.ContainerOverrides.Command[0]).toBe('sweep-finish');
    expect(States[States.FinishAfterFailures.Next]).toMatchObject({ Type: 'Fail', Error: 'CellsFailed' });
  });

  test('a single cell runs as a plain job told its index (Batch arrays have at least two children)', () => {
    const { States } = definition(base);
    expect(States.OneCellOrMore.Choices).toEqual([{ Condition: '{% $cells = 1 %}', Next: 'TrainTheCell' }]);
    expect(States.TrainTheCell.Arguments.ArrayProperties).toBeUndefined();
    expect(States.TrainTheCell.Arguments.ContainerOverrides.Command.slice(-2)).toEqual(['--index', '0']);
  });

  test('input that is not a sweep fails before any job starts', () => {
    const { StartAt, States } = definition(base);
    expect(StartAt).toBe('ReadInput');
    expect(States.InputValid.Default).toBe('BadInput');
    expect(States.InputValid.Choices[0].Next).toBe('StartSweep');
  });

  test('start and finish get 30 minutes; every job is named after its sweep', () => {
    const { States } = definition(base);
    expect(States.StartSweep.Arguments.Timeout).toEqual({ AttemptDurationSeconds: 1800 });
    expect(States.FinishSweep.Arguments.Timeout).toEqual({ AttemptDurationSeconds: 1800 });
    expect(States.TrainCells.Arguments.JobName).toBe("{% $sweepId & '-cells' %}");
  });

  test('every execution is logged in full and traced', () => {
    const machine = only(base, 'AWS::StepFunctions::StateMachine').Properties;
    expect(machine?.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
    expect(machine?.TracingConfiguration).toEqual({ Enabled: true });
  });

  test('its role submits to this queue only, and terminates only Batch jobs', () => {
    const statements = allowStatements(base.training);
    const submit = statements.find((s) => asArray(s.Action).includes('batch:SubmitJob'))!;
    expect(asArray(submit.Resource).map(text)).toEqual([expect.stringContaining(':job-definition/*'), expect.stringContaining('SweepComputeQueue')]);
    const terminate = statements.find((s) => asArray(s.Action).includes('batch:TerminateJob'))!;
    expect(text(terminate.Resource)).toContain(':job/*');
  });
});

describe('outputs and clean-up', () => {
  test('the launcher finds the state machine, queue, bucket and log group in the outputs', () => {
    const outputs = base.training.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(text(outputs.SweepStateMachineArn.Value)).toContain('SweepStateMachine');
    expect(text(outputs.SweepJobQueueArn.Value)).toContain('SweepComputeQueue');
    expect(text(outputs.SweepBucketName.Value)).toContain('ArtifactsBucket');
    expect(text(outputs.SweepLogGroup.Value)).toContain('SweepLogs');
  });

  test('cdk destroy removes it all: nothing in the training stack is retained', () => {
    for (const [id, resource] of Object.entries(base.training.toJSON().Resources as Record<string, Resource>)) {
      expect([id, resource.DeletionPolicy ?? 'Delete']).toEqual([id, 'Delete']);
    }
  });
});

describe('instance sizes', () => {
  test.each(Object.keys(SWEEP_INSTANCE_SIZES))('%s: a job asks for one GPU and less than its share of the memory', (type) => {
    const spec = SWEEP_INSTANCE_SIZES[type];
    const job = jobResources(type);
    expect(job.gpus).toBe(1);
    expect(job.vcpus).toBeGreaterThanOrEqual(1);
    expect(job.vcpus * spec.gpus).toBeLessThanOrEqual(spec.vcpus);
    expect(job.memoryMiB * spec.gpus).toBeLessThanOrEqual(spec.memoryGiB * 1024 * JOB_MEMORY_SHARE);
  });
});

describe('constructs check their props', () => {
  const setUp = () => {
    const stack = new Stack();
    const vpc = new ec2.Vpc(stack, 'Vpc');
    return { stack, vpc, securityGroup: new ec2.SecurityGroup(stack, 'Group', { vpc }) };
  };

  test.each([
    [{ instanceType: 'p3.2xlarge' }, /instanceType: p3.2xlarge is not one of g4dn.xlarge/],
    [{ maxInstances: 0 }, /maxInstances: 0 must be a whole number of at least 1/],
  ])('SweepCompute refuses %j', (override, message) => {
    const { stack, vpc, securityGroup } = setUp();
    expect(() => new SweepCompute(stack, 'Compute', { vpc, securityGroup, instanceType: 'g4dn.xlarge', maxInstances: 2, rootVolumeGiB: 100, ...override }))
      .toThrow(message);
  });

  test('SweepJobDefinition refuses a timeout under Batch\'s minimum of 60 seconds', () => {
    const { stack } = setUp();
    expect(() => new SweepJobDefinition(stack, 'Job', {
      image: ecs.ContainerImage.fromRegistry('trainer'),
      instanceType: 'g4dn.xlarge',
      timeout: Duration.seconds(30),
      mlflow: { trackingUri: 'http://mlflow', credentials: new secretsmanager.Secret(stack, 'Secret') },
      dataPolicies: [],
      logGroup: new logs.LogGroup(stack, 'Logs'),
      bucketName: 'bucket',
      region: 'eu-west-1',
    })).toThrow(/timeout must be at least 60 seconds/);
  });
});
