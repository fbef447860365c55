import { Match } from 'aws-cdk-lib/assertions';
import { TRAINER_AMI_PARAMETER } from '../../lib/config';
import { buildApp, type BuiltApp, TEST_REGION } from './build-app';
import { allowStatements, asArray, joined, resourcesOfType, text } from './template-queries';

let base: BuiltApp;
let spot: BuiltApp;
beforeAll(() => {
  // trainOnDeploy is off by default; on here, so the deploy-time run starter is there to check.
  base = buildApp({ trainOnDeploy: 'true' });
  spot = buildApp({ env: 'alice', spot: 'true', trainOnDeploy: 'false', model: 'vgg16', epochs: '30', maxRuntimeMinutes: '600', instanceType: 'g5.xlarge' });
});

function userData(built: BuiltApp): string {
  const [, template] = resourcesOfType(built.training, 'AWS::EC2::LaunchTemplate')[0];
  return joined(template.Properties?.LaunchTemplateData.UserData['Fn::Base64']);
}

describe('launch template', () => {
  test('IMDSv2 only, with a hop limit of 2 so the container reaches the instance role', () => {
    base.training.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2, HttpEndpoint: 'enabled' },
      }),
    });
  });

  test('an encrypted gp3 root volume, no SSH key, terminate on shutdown, the configured GPU type', () => {
    const [, template] = resourcesOfType(base.training, 'AWS::EC2::LaunchTemplate')[0];
    const data = template.Properties?.LaunchTemplateData;
    expect(data.BlockDeviceMappings).toEqual([{ DeviceName: '/dev/sda1', Ebs: { DeleteOnTermination: true, Encrypted: true, VolumeSize: 100, VolumeType: 'gp3' } }]);
    expect(data.KeyName).toBeUndefined();
    expect(data.InstanceInitiatedShutdownBehavior).toBe('terminate');
    expect(data.InstanceType).toBe('g4dn.xlarge');
  });

  test('the only security group is the MLflow client group, which admits nothing', () => {
    const [, template] = resourcesOfType(base.training, 'AWS::EC2::LaunchTemplate')[0];
    const groups = template.Properties?.LaunchTemplateData.SecurityGroupIds;
    expect(groups).toHaveLength(1);
    expect(text(groups[0])).toContain('MlflowClientSecurityGroup');
    base.training.resourceCountIs('AWS::EC2::SecurityGroup', 0);
    base.tracking.hasResourceProperties('AWS::EC2::SecurityGroup', { GroupDescription: Match.stringLikeRegexp('MLflow clients'), SecurityGroupIngress: Match.absent() });
  });

  test('without an account the AMI resolves from the public DLAMI parameter at deploy time', () => {
    const parameters = base.training.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
    expect(Object.values(parameters)).toContainEqual({ Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: TRAINER_AMI_PARAMETER });
  });

  test('with an account, the AMI is the one pinned in cdk.context.json', () => {
    const account = '123456789012';
    const pinned = buildApp({}, {
      env: { account, region: TEST_REGION },
      appContext: {
        [`ssm:account=${account}:parameterName=${TRAINER_AMI_PARAMETER}:region=${TEST_REGION}`]: 'ami-0123456789abcdef0',
        [`availability-zones:account=${account}:region=${TEST_REGION}`]: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      },
    });
    pinned.training.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0123456789abcdef0' }) });
  });

  test('user data exports the run settings and then runs the boot script', () => {
    const script = userData(base);
    expect(script.startsWith('#!/bin/bash\n')).toBe(true);
    expect(script).toContain("export MAX_RUNTIME_MINUTES='240'");
    expect(script).toMatch(/export MLFLOW_TRACKING_URI='http:\/\/\{.*MlflowInternalLoadBalancer.*\}'/);
    expect(script).toMatch(/export RUN_PARAMETER='\{.*RunRequest.*\}'/);
    expect(script.indexOf('export MLFLOW_SECRET_ARN=')).toBeLessThan(script.indexOf('shutdown -P "+${max_minutes}"'));
    expect(userData(spot)).toContain("export MAX_RUNTIME_MINUTES='600'");
  });
});

describe('trainer group', () => {
  test('idle at 0, at most one instance, and no desired capacity for an update to reset', () => {
    const [, group] = resourcesOfType(base.training, 'AWS::AutoScaling::AutoScalingGroup')[0];
    expect(group.Properties).toMatchObject({ MinSize: '0', MaxSize: '1' });
    expect(group.Properties?.DesiredCapacity).toBeUndefined();
    expect(group.Properties?.MixedInstancesPolicy).toBeUndefined();
    expect(group.Properties?.VPCZoneIdentifier).toHaveLength(2);
  });

  test('-c spot=true runs on spot capacity of the configured type only', () => {
    spot.training.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandBaseCapacity: 0, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplate: Match.objectLike({ Overrides: [{ InstanceType: 'g5.xlarge' }] }),
      },
    });
  });

  test('by default a deploy starts no run; with trainOnDeploy=true, synth and deploy warn that it starts a paid GPU run', () => {
    const warningsOf = (built: BuiltApp) => built.app.synth().getStackByName(built.stacks.training.stackName).messages
      .filter((m) => m.level === 'warning').map((m) => String(m.entry.data));
    const quiet = buildApp();
    expect(resourcesOfType(quiet.training, 'Custom::TrainerRunStarter')).toEqual([]);
    expect(warningsOf(quiet).join('\n')).not.toContain('trainOnDeploy');
    expect(warningsOf(base)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^trainOnDeploy=true: this deploy starts a paid GPU run \(compact, 10 epochs on g4dn.xlarge, at most 240 minutes\) whenever/),
    ]));
  });

  test('a deploy writes the run request and starts a run; one that changes the arguments names a new run', () => {
    const [, parameter] = resourcesOfType(base.training, 'AWS::SSM::Parameter').find(([id]) => id.startsWith('RunRequest'))!;
    expect(parameter.Properties?.Name).toBe('/malaria-mlops/dev/trainer/run-request');
    expect(parameter.Properties?.Value).toBe(`${base.stacks.training.runId}\n--model\ncompact\n--epochs\n10`);
    const [, starter] = resourcesOfType(base.training, 'Custom::TrainerRunStarter')[0];
    const create = joined(starter.Properties?.Create);
    expect(create).toContain('"action":"setDesiredCapacity"');
    expect(create).toMatch(/"AutoScalingGroupName":"\{\{"Ref":"TrainerGroupASG\w+"\}\}","DesiredCapacity":1/);
    expect(create).toContain(`"physicalResourceId":{"id":"${base.stacks.training.runId}"}`);
    expect(text(starter.Properties?.Update)).toBe(text(starter.Properties?.Create));
    expect(base.stacks.training.runId).not.toBe(spot.stacks.training.runId);
  });

  test('-c trainOnDeploy=false leaves runs to the launcher', () => {
    spot.training.resourceCountIs('Custom::TrainerRunStarter', 0);
    spot.training.hasResourceProperties('AWS::SSM::Parameter', { Name: '/malaria-mlops/alice/trainer/run-request', Value: Match.stringLikeRegexp('--model\nvgg16\n--epochs\n30$') });
  });
});

describe('instance role', () => {
  const trainerStatements = (built: BuiltApp) => allowStatements(built.training)
    .filter((s) => !asArray(s.Action).some((a: string) => a === 'autoscaling:SetDesiredCapacity'));

  test('each permission names its resource: the image, the secret, the log group, the parameters, its own group', () => {
    const resourcesOf = (action: string) => trainerStatements(base)
      .filter((s) => asArray(s.Action).includes(action)).map((s) => text(s.Resource)).join(' ');
    expect(resourcesOf('ecr:BatchGetImage')).toContain('cdk-hnb659fds-container-assets');
    expect(resourcesOf('secretsmanager:GetSecretValue')).toContain('MlflowAdminSecret');
    expect(resourcesOf('logs:PutLogEvents')).toContain('Logs6819BB44');
    expect(resourcesOf('ssm:GetParameter')).toContain('RunRequest');
    expect(resourcesOf('ssm:GetParameter')).not.toContain('Outcome');
    expect(resourcesOf('ssm:PutParameter')).toContain('Outcome');
    expect(resourcesOf('ssm:PutParameter')).not.toContain('RunRequest');
    expect(resourcesOf('autoscaling:TerminateInstanceInAutoScalingGroup')).toMatch(/autoScalingGroupName\/.*TrainerGroupASG/);
  });

  test('only actions IAM cannot scope use "*", and no statement allows every action', () => {
    for (const statement of trainerStatements(base)) {
      expect(asArray(statement.Action)).not.toContain('*');
      if (asArray(statement.Resource).includes('*')) {
        // The sweep state machine's too (test/lib/sweep.test.ts): Batch's DescribeJobs, X-Ray, log delivery set-up.
        for (const action of asArray(statement.Action) as string[]) {
          expect(action).toMatch(/^(ecr:GetAuthorizationToken|ssmmessages:\w+Channel|batch:DescribeJobs|xray:\w+|logs:\w*(LogDelivery|LogDeliveries|ResourcePolicy|ResourcePolicies|LogGroups))$/);
        }
      }
    }
  });

  test('the bucket: read and write under datasets/ and checkpoints/ only, through a policy the tracking stack owns', () => {
    const [policyId, policy] = resourcesOfType(base.tracking, 'AWS::IAM::ManagedPolicy').find(([id]) => id.includes('TrainerDataAccess'))!;
    const statements = policy.Properties?.PolicyDocument.Statement as Array<Record<string, any>>;
    const objectResources = statements.filter((s) => !asArray(s.Action).includes('s3:ListBucket')).flatMap((s) => asArray(s.Resource).map(text));
    expect(objectResources).toHaveLength(2);
    expect(objectResources.find((r) => r.includes('/datasets/*'))).toBeDefined();
    expect(objectResources.find((r) => r.includes('/checkpoints/*'))).toBeDefined();
    const deletes = statements.filter((s) => asArray(s.Action).includes('s3:DeleteObject')).flatMap((s) => asArray(s.Resource).map(text));
    expect(deletes.every((r) => r.includes('/checkpoints/*'))).toBe(true);
    for (const list of statements.filter((s) => asArray(s.Action).includes('s3:ListBucket'))) {
      expect(list.Condition.StringLikeIfExists['s3:prefix'].every((p: string) => /^(datasets|checkpoints)/.test(p))).toBe(true);
    }
    const [, role] = resourcesOfType(base.training, 'AWS::IAM::Role').find(([id]) => id.startsWith('TrainerRole'))!;
    expect(text(role.Properties?.ManagedPolicyArns)).toContain(policyId);
    expect(allowStatements(base.training).some((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')))).toBe(false);
  });
});

describe('outputs and clean-up', () => {
  test('outputs give the command that starts a run and the log group', () => {
    base.training.hasOutput('StartRunCommand', { Value: 'npm run train:cloud -- --env dev --model compact --epochs 10' });
    base.training.hasOutput('TrainerLogGroup', { Value: { Ref: 'Logs6819BB44' } });
    spot.training.hasOutput('StartRunCommand', { Value: 'npm run train:cloud -- --env alice --model vgg16 --epochs 30' });
  });

  test('stack names carry the environment', () => {
    expect(base.stacks.training.stackName).toBe('MalariaTraining-dev');
    expect(spot.stacks.tracking.stackName).toBe('MalariaTracking-alice');
  });

  test('log groups, the trainer\'s, the sweeps\' and those of CDK\'s helper function, are deleted with the stack', () => {
    const groups = resourcesOfType(base.training, 'AWS::Logs::LogGroup');
    expect(groups.map(([, g]) => text(g.Properties?.LogGroupName))).toEqual(expect.arrayContaining([
      '/malaria-mlops/dev/trainer', '/malaria-mlops/dev/sweeps', '/aws/vendedlogs/states/malaria-mlops-dev-sweeps',
    ]));
    expect(groups.length).toBe(4);
    for (const [, group] of groups) expect(group.DeletionPolicy).toBe('Delete');
  });
});
