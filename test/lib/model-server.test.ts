import { readFileSync } from 'node:fs';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import { Command } from 'commander';
import { MODEL_ROUTE_PRIORITY } from '../../lib/model-server';
import { addSchemaOptions, typedOptions } from '../../trainer/src/cli/schema-options';
import { parseServeOptions, ServeOptionsSchema } from '../../trainer/src/serve/serve-options';
import { buildApp, type BuiltApp } from './build-app';
import { allowStatements, asArray, ingressRules, joined, resourcesOfType, text, type Resource } from './template-queries';

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

// Three configurations, each synthesized once (cdk-nag runs on each): no serving (the default),
// serving without public access, and serving behind public HTTPS with another registered model.
let off: BuiltApp;
let served: BuiltApp;
let open: BuiltApp;
beforeAll(() => {
  off = buildApp();
  served = buildApp({ serve: 'true' });
  open = buildApp({
    serve: true, allowedCidrs: ['203.0.113.0/24'], certificateArn: CERTIFICATE, domainName: 'mlflow.example.com',
    trainOptions: { registerModel: 'cells-v2' },
  });
});

const container = (built: BuiltApp): Record<string, any> => {
  const [, task] = resourcesOfType(built.training, 'AWS::ECS::TaskDefinition')[0];
  return task.Properties?.ContainerDefinitions[0];
};
const serverGroupId = (built: BuiltApp): string => resourcesOfType(built.training, 'AWS::EC2::SecurityGroup')
  .find(([id]) => id.startsWith('ModelServerSecurityGroup'))![0];

describe('with serve=false (the default)', () => {
  test('nothing of the model server exists', () => {
    for (const type of ['AWS::ECS::Service', 'AWS::ECS::TaskDefinition', 'AWS::ElasticLoadBalancingV2::ListenerRule', 'AWS::ElasticLoadBalancingV2::TargetGroup']) {
      off.training.resourceCountIs(type, 0);
    }
    expect(Object.keys(off.training.toJSON().Outputs).filter((name) => name.startsWith('ModelServer'))).toEqual([]);
    expect(off.stacks.training.modelServer).toBeUndefined();
  });
});

describe('task', () => {
  test('runs the trainer image\'s serve command for the champion, on 0.0.0.0:8080 under /model', () => {
    expect(container(served).Command).toEqual([
      'serve', '--model', 'models:/malaria-classifier@champion', '--host', '0.0.0.0', '--port', '8080', '--base-path', '/model',
    ]);
    expect(container(served).PortMappings).toEqual([{ ContainerPort: 8080, Protocol: 'tcp' }]);
  });

  test('serves the model that deploy-started runs register (trainOptions.registerModel)', () => {
    expect(container(open).Command).toEqual(expect.arrayContaining(['models:/cells-v2@champion']));
  });

  test('the trainer\'s serve command accepts the arguments as they are', () => {
    const command = addSchemaOptions(new Command('serve').exitOverride(), ServeOptionsSchema);
    const [subcommand, ...args] = container(served).Command as string[];
    expect(subcommand).toBe('serve');
    command.parse(args, { from: 'user' });
    expect(parseServeOptions(typedOptions(command, ServeOptionsSchema)))
      .toMatchObject({ model: 'models:/malaria-classifier@champion', host: '0.0.0.0', port: 8080, basePath: '/model' });
  });

  test('uses the trainer\'s image asset: one image for both, built and pushed once', () => {
    const image = text(container(served).Image);
    expect(image).toContain('cdk-hnb659fds-container-assets');
    const assembly = served.app.synth();
    const dockerImages = assembly.artifacts.filter((a): a is AssetManifestArtifact => a instanceof AssetManifestArtifact)
      .flatMap((manifest) => Object.keys(JSON.parse(readFileSync(manifest.file, 'utf8')).dockerImages ?? {}));
    // The MLflow image and the trainer image, nothing more.
    expect(new Set(dockerImages).size).toBe(2);
    const trainerHash = dockerImages.find((hash) => image.includes(hash));
    expect(trainerHash).toBeDefined();
    expect(joined(resourcesOfType(served.training, 'AWS::EC2::LaunchTemplate')[0][1].Properties?.LaunchTemplateData.UserData['Fn::Base64'])).toContain(trainerHash);
  });

  test('reaches MLflow inside the VPC with the admin credentials from Secrets Manager, and demands a generated token', () => {
    const { Environment, Secrets } = container(served);
    expect(Environment).toHaveLength(1);
    expect(Environment[0].Name).toBe('MLFLOW_TRACKING_URI');
    expect(joined(Environment[0].Value)).toMatch(/^http:\/\/\{.*MlflowInternalLoadBalancer.*\}$/);
    const secrets = Object.fromEntries(Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, joined(s.ValueFrom)]));
    expect(Object.keys(secrets).sort()).toEqual(['MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_USERNAME', 'MODEL_SERVER_TOKEN']);
    expect(secrets.MLFLOW_TRACKING_USERNAME).toMatch(/MlflowAdminSecret.*:username::$/);
    expect(secrets.MLFLOW_TRACKING_PASSWORD).toMatch(/MlflowAdminSecret.*:password::$/);
    expect(secrets.MODEL_SERVER_TOKEN).toMatch(/^\{"Ref":"ModelServerToken[0-9A-F]+"\}$/);
    const [, token] = resourcesOfType(served.training, 'AWS::SecretsManager::Secret')[0];
    expect(token.Properties?.GenerateSecretString).toMatchObject({ PasswordLength: 48, ExcludePunctuation: true });
    expect(served.training.toJSON().Outputs.ModelServerTokenCommand.Value['Fn::Join'][1].join('')).toMatch(/^aws secretsmanager get-secret-value --secret-id .* --query SecretString --output text$/);
  });

  test('1 vCPU and 4 GB on x86_64 Fargate; stops after the 25 s drain; a health check in the image\'s node', () => {
    const [, task] = resourcesOfType(served.training, 'AWS::ECS::TaskDefinition')[0];
    expect(task.Properties).toMatchObject({ Cpu: '1024', Memory: '4096', RequiresCompatibilities: ['FARGATE'], RuntimePlatform: { CpuArchitecture: 'X86_64' } });
    expect(container(served).StopTimeout).toBeGreaterThanOrEqual(30);
    expect(container(served).HealthCheck).toMatchObject({ StartPeriod: 180, Command: ['CMD', 'node', '-e', expect.stringContaining("fetch('http://127.0.0.1:8080/model/health')")] });
  });

  test('no S3 permission anywhere in the stack (artifacts come through MLflow\'s proxy); the execution role reads only the admin secret and the token', () => {
    for (const statement of allowStatements(served.training)) {
      expect(asArray(statement.Action).filter((action: string) => action.startsWith('s3:'))).toEqual([]);
    }
    const secretReads = allowStatements(served.training).filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));
    for (const statement of secretReads) expect(text(statement.Resource)).toMatch(/MlflowAdminSecret|ModelServerToken/);
  });
});

describe('service', () => {
  test('one task in the public subnets, no inbound but the load balancers, rolled back when it cannot become healthy', () => {
    const [, service] = resourcesOfType(served.training, 'AWS::ECS::Service')[0];
    expect(service.Properties).toMatchObject({
      DesiredCount: 1,
      LaunchType: 'FARGATE',
      HealthCheckGracePeriodSeconds: 180,
      EnableExecuteCommand: true,
      DeploymentConfiguration: { MinimumHealthyPercent: 100, MaximumPercent: 200, DeploymentCircuitBreaker: { Enable: true, Rollback: true } },
      NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'ENABLED' } },
    });
    const subnets = service.Properties?.NetworkConfiguration.AwsvpcConfiguration.Subnets.map(text);
    expect(subnets).toHaveLength(2);
    for (const subnet of subnets) expect(subnet).toMatch(/publicSubnet/);
    expect(service.Properties?.Cluster).toEqual({ 'Fn::ImportValue': expect.stringContaining('MlflowCluster') });
  });

  test.each([
    ['without allowedCidrs, behind the internal load balancer only', () => served, ['Internal']],
    ['with allowedCidrs, behind both load balancers', () => open, ['Internal', 'Public']],
  ])('%s', (_name, built, entrances) => {
    const { training } = built();
    const rules = resourcesOfType(training, 'AWS::ElasticLoadBalancingV2::ListenerRule');
    expect(rules.map(([, rule]) => text(rule.Properties?.ListenerArn).match(/Mlflow(\w+)LoadBalancerListener/)?.[1]).sort()).toEqual(entrances);
    const [, service] = resourcesOfType(training, 'AWS::ECS::Service')[0];
    expect(service.Properties?.LoadBalancers).toHaveLength(entrances.length);
    for (const [id, rule] of rules) {
      expect(rule.Properties).toMatchObject({
        Priority: MODEL_ROUTE_PRIORITY,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/model', '/model/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: { Ref: expect.any(String) } }],
      });
      // ECS refuses a target group that no listener uses yet.
      expect(asArray((service as Resource & { DependsOn?: string[] }).DependsOn)).toContain(id);
      const [, group] = resourcesOfType(training, 'AWS::ElasticLoadBalancingV2::TargetGroup').find(([tg]) => tg === rule.Properties?.Actions[0].TargetGroupArn.Ref)!;
      expect(group.Properties).toMatchObject({
        Port: 8080, Protocol: 'HTTP', TargetType: 'ip', HealthCheckPath: '/model/health', Matcher: { HttpCode: '200' },
        TargetGroupAttributes: expect.arrayContaining([{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }]),
      });
    }
  });

  test('with HTTPS, /model is routed on the HTTPS listener, which MLflow\'s redirect leads to', () => {
    const listeners = resourcesOfType(open.training, 'AWS::ElasticLoadBalancingV2::ListenerRule').map(([, rule]) => text(rule.Properties?.ListenerArn));
    const httpsListener = resourcesOfType(open.tracking, 'AWS::ElasticLoadBalancingV2::Listener').find(([, l]) => l.Properties?.Protocol === 'HTTPS')![0];
    expect(listeners.filter((arn) => arn.includes(httpsListener))).toHaveLength(1);
  });
});

describe('security groups', () => {
  test.each([
    ['internal only', () => served, ['MlflowInternalSecurityGroup']],
    ['both load balancers', () => open, ['MlflowInternalSecurityGroup', 'MlflowPublicSecurityGroup']],
  ])('the server admits its port from the load balancers and nothing else (%s)', (_name, built, sources) => {
    const group = serverGroupId(built());
    // Inline rules of the group, and rules of their own that name it.
    const rules = ingressRules(built().training).filter(([id, rule]) => (id === group && !rule.GroupId) || text(rule.GroupId).includes(group));
    expect(rules.map(([, rule]) => `${text(rule.SourceSecurityGroupId).match(/Mlflow\w+SecurityGroup/)?.[0]}:${rule.FromPort}-${rule.ToPort}`).sort())
      .toEqual(sources.map((source) => `${source}:8080-8080`));
    for (const [, rule] of rules) expect(rule.CidrIp).toBeUndefined();
    // The load balancers may send to it, on that port only.
    const egress = resourcesOfType(built().training, 'AWS::EC2::SecurityGroupEgress').map(([, rule]) => rule.Properties ?? {});
    expect(egress.map((rule) => `${text(rule.GroupId).match(/Mlflow\w+SecurityGroup/)?.[0]}:${rule.FromPort}`).sort()).toEqual(sources.map((source) => `${source}:8080`));
    for (const rule of egress) expect(text(rule.DestinationSecurityGroupId)).toContain(group);
  });

  test('the internal load balancer admits the server, so it reaches MLflow; the public one does not', () => {
    const group = serverGroupId(open);
    const admitted = ingressRules(open.training).filter(([, rule]) => text(rule.SourceSecurityGroupId).includes(group));
    expect(admitted.map(([, rule]) => `${text(rule.GroupId).match(/Mlflow\w+SecurityGroup/)?.[0]}:${rule.FromPort}`)).toEqual(['MlflowInternalSecurityGroup:80']);
  });

  test('the tracking stack is the same as without serving, apart from the values it exports (no cycle)', () => {
    const withoutExports = (built: BuiltApp) => {
      const template = built.tracking.toJSON();
      return { ...template, Outputs: Object.fromEntries(Object.entries(template.Outputs).filter(([name]) => !name.startsWith('ExportsOutput'))) };
    };
    expect(withoutExports(served)).toEqual(withoutExports(off));
  });
});

describe('outputs and clean-up', () => {
  test('the restart command that picks up a new champion, the URL, the service and the logs', () => {
    expect(joined(served.training.toJSON().Outputs.ModelServerRestartCommand.Value))
      .toMatch(/^aws ecs update-service --cluster \{.*MlflowCluster.*\} --service \{\{"Fn::GetAtt":\["ModelServerService\w+","Name"\]\}\} --force-new-deployment$/);
    served.training.hasOutput('ModelServerUrl', { Value: 'http://localhost:8080/model through a Session Manager tunnel (no allowedCidrs): see docs/cloud.md' });
    open.training.hasOutput('ModelServerUrl', { Value: 'https://mlflow.example.com/model' });
    expect(joined(served.training.toJSON().Outputs.ModelServerInternalUrl.Value)).toMatch(/^http:\/\/\{.*MlflowInternalLoadBalancer.*\}\/model$/);
    expect(text(served.training.toJSON().Outputs.ModelServerService.Value)).toContain('ModelServerService');
    expect(text(served.training.toJSON().Outputs.ModelServerLogGroup.Value)).toContain('ModelServerLogs');
  });

  test('its log group is named for the environment and deleted with the stack', () => {
    const [, group] = resourcesOfType(served.training, 'AWS::Logs::LogGroup').find(([id]) => id.startsWith('ModelServerLogs'))!;
    expect(group.Properties?.LogGroupName).toBe('/malaria-mlops/dev/model-server');
    expect(group.DeletionPolicy).toBe('Delete');
  });
});
