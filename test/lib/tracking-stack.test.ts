import { Match } from 'aws-cdk-lib/assertions';
import { internetExposureNotice } from '../../lib/internet-exposure';
import { buildApp, type BuiltApp } from './build-app';
import { asArray, allowStatements, ingressRules, resourcesOfType, text } from './template-queries';

/** The warnings cdk synth and cdk deploy print for the tracking stack. */
const warningsOf = (built: BuiltApp) => built.app.synth().getStackByName(built.stacks.tracking.stackName).messages
  .filter((m) => m.level === 'warning').map((m) => String(m.entry.data));

const CERTIFICATE = 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555';

// Two configurations, each synthesized once: the default (no public access) and a team with
// public HTTPS access that keeps its data.
let base: BuiltApp;
let open: BuiltApp;
beforeAll(() => {
  base = buildApp();
  open = buildApp({ allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'], certificateArn: CERTIFICATE, domainName: 'mlflow.example.com', retainData: true });
});

describe('network', () => {
  test('two availability zones, public and isolated subnets, no NAT gateway', () => {
    base.tracking.resourceCountIs('AWS::EC2::NatGateway', 0);
    const subnets = resourcesOfType(base.tracking, 'AWS::EC2::Subnet');
    expect(subnets.filter(([, s]) => s.Properties?.MapPublicIpOnLaunch === true)).toHaveLength(2);
    expect(subnets.filter(([id]) => id.includes('database'))).toHaveLength(2);
    const azs = new Set(subnets.map(([, s]) => text(s.Properties?.AvailabilityZone)));
    expect(azs.size).toBe(2);
  });

  test('an S3 gateway endpoint and flow logs for all traffic', () => {
    base.tracking.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Gateway', ServiceName: Match.objectLike({}) });
    expect(text(resourcesOfType(base.tracking, 'AWS::EC2::VPCEndpoint')[0][1].Properties?.ServiceName)).toContain('.s3');
    base.tracking.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
  });
});

describe('database', () => {
  test('PostgreSQL 18, encrypted, backed up, credentials generated, not public, in the isolated subnets', () => {
    base.tracking.hasResourceProperties('AWS::RDS::DBInstance', {
      Engine: 'postgres',
      EngineVersion: '18',
      StorageEncrypted: true,
      PubliclyAccessible: false,
      BackupRetentionPeriod: 7,
      DBName: 'mlflow',
      MasterUsername: 'mlflow',
      MasterUserPassword: Match.objectLike({ 'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('resolve:secretsmanager')])]) }),
    });
    base.tracking.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) });
    const [, group] = resourcesOfType(base.tracking, 'AWS::RDS::DBSubnetGroup')[0];
    const subnetIds = group.Properties?.SubnetIds.map((s: { Ref: string }) => s.Ref);
    expect(subnetIds).toHaveLength(2);
    expect(subnetIds.every((id: string) => id.includes('database'))).toBe(true);
  });

  test('only the MLflow service may connect to it', () => {
    const [dbGroupId] = resourcesOfType(base.tracking, 'AWS::EC2::SecurityGroup').find(([id]) => id.startsWith('DatabaseInstance'))!;
    const rules = ingressRules(base.tracking).filter(([, rule]) => text(rule.GroupId).includes(dbGroupId));
    expect(rules).toHaveLength(1);
    expect(text(rules[0][1].SourceSecurityGroupId)).toContain('MlflowServiceSecurityGroup');
  });
});

describe('artifact bucket', () => {
  test('every bucket blocks public access, is encrypted and accepts TLS only; the artifact bucket is versioned', () => {
    const buckets = resourcesOfType(base.tracking, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    for (const [, bucket] of buckets) {
      expect(bucket.Properties?.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true,
      });
      expect(bucket.Properties?.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    }
    base.tracking.hasResourceProperties('AWS::S3::Bucket', { VersioningConfiguration: { Status: 'Enabled' } });
    const policies = resourcesOfType(base.tracking, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties?.PolicyDocument.Statement).toEqual(expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]));
    }
  });

  test.each([
    ['without retainData, the buckets are emptied and deleted and the database goes', () => base, 'Delete', 'Delete', 2],
    ['with retainData, the buckets stay and the database leaves a final snapshot', () => open, 'Retain', 'Snapshot', 0],
  ])('%s', (_name, built, bucketPolicy, databasePolicy, autoDeletes) => {
    const { tracking } = built();
    for (const [, bucket] of resourcesOfType(tracking, 'AWS::S3::Bucket')) expect(bucket.DeletionPolicy).toBe(bucketPolicy);
    tracking.resourceCountIs('Custom::S3AutoDeleteObjects', autoDeletes);
    for (const [, db] of resourcesOfType(tracking, 'AWS::RDS::DBInstance')) expect(db.DeletionPolicy).toBe(databasePolicy);
    tracking.hasResourceProperties('AWS::RDS::DBInstance', { DeletionProtection: false });
  });
});

describe('MLflow service', () => {
  test('runs the mlflow-stack image with the database and admin password from Secrets Manager', () => {
    const [, task] = resourcesOfType(base.tracking, 'AWS::ECS::TaskDefinition')[0];
    const container = task.Properties?.ContainerDefinitions[0];
    const secrets = Object.fromEntries(container.Secrets.map((s: { Name: string; ValueFrom: unknown }) => [s.Name, text(s.ValueFrom)]));
    for (const name of ['DB_HOST', 'DB_PORT', 'DB_NAME', 'DB_USERNAME', 'DB_PASSWORD']) expect(secrets[name]).toContain('DatabaseInstanceSecret');
    expect(secrets.MLFLOW_ADMIN_PASSWORD).toContain('MlflowAdminSecret');
    const environment = Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, text(e.Value)]));
    expect(environment.MLFLOW_ARTIFACTS_DESTINATION).toMatch(/s3:\/\/.*ArtifactsBucket.*\/mlflow-artifacts/);
    expect(environment.MLFLOW_ALLOWED_HOSTS).toContain('MlflowInternalLoadBalancer');
    expect(environment.MLFLOW_ALLOWED_HOSTS).toContain('localhost:*');
    expect(environment.DB_SSLMODE).toBe('require');
    expect(Object.keys(environment).some((name) => /PASSWORD|SECRET/.test(name))).toBe(false);
    expect(text(container.Image)).toContain('cdk-hnb659fds-container-assets');
  });

  test('the admin password is generated, never a fixed value', () => {
    base.tracking.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { SecretStringTemplate: '{"username":"admin"}', GenerateStringKey: 'password', PasswordLength: 32, ExcludePunctuation: true },
    });
  });

  test('the task role reaches only mlflow-artifacts/ of the bucket, the trainer\'s and sweeps\' policies only their prefixes', () => {
    const s3 = allowStatements(base.tracking).filter((s) => asArray(s.Action).some((a: string) => a.startsWith('s3:')));
    expect(s3.length).toBeGreaterThan(0);
    for (const statement of s3) {
      expect(asArray(statement.Action)).not.toContain('s3:*');
      const resources = asArray(statement.Resource).map(text);
      const scoped = resources.every((r) => r.includes('/mlflow-artifacts/*') || r.includes('/datasets/*') || r.includes('/checkpoints/*') || r.includes('/sweeps/*'))
        || (asArray(statement.Action).join() === 's3:ListBucket' && statement.Condition?.StringLikeIfExists);
      expect(scoped).toBeTruthy();
    }
  });

  test('no policy in the stack allows every action', () => {
    for (const statement of allowStatements(base.tracking)) expect(asArray(statement.Action)).not.toContain('*');
  });
});

describe('load balancers', () => {
  test('by default, one internal load balancer that only the trainer\'s security group may reach', () => {
    base.tracking.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 1);
    base.tracking.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    const albRules = ingressRules(base.tracking).filter(([id, rule]) => id.startsWith('MlflowInternalSecurityGroup') && text(rule.GroupId).includes('MlflowInternalSecurityGroup'));
    expect(albRules).toHaveLength(1);
    expect(albRules[0][1]).toMatchObject({ FromPort: 80, ToPort: 80 });
    expect(text(albRules[0][1].SourceSecurityGroupId)).toContain('MlflowClientSecurityGroup');
  });

  test('no rule admits 0.0.0.0/0 unless allowedCidrs says so', () => {
    for (const built of [base, open]) {
      for (const [, rule] of ingressRules(built.tracking)) expect(rule.CidrIp).not.toBe('0.0.0.0/0');
    }
    const world = buildApp({ allowedCidrs: ['0.0.0.0/0'], openToInternet: true });
    expect(ingressRules(world.tracking).filter(([, rule]) => rule.CidrIp === '0.0.0.0/0').map(([, rule]) => rule.FromPort)).toEqual([80]);
    expect(warningsOf(world)).toEqual([expect.stringMatching(
      /^openToInternet=true: the public load balancer admits every IPv4 address on port 80 \(plain HTTP.*\), in front of MLflow's login page and API .*The database, the internal load balancer, the trainer and the sweep instances stay closed/,
    )]);
  });

  test('openToInternet=true says what it opens; without 0.0.0.0/0 in allowedCidrs, that it opens nothing; off, nothing is said', () => {
    const https = buildApp({ allowedCidrs: '0.0.0.0/0', openToInternet: 'true', certificateArn: CERTIFICATE, domainName: 'mlflow.example.com' });
    expect(warningsOf(https)).toEqual([expect.stringContaining('every IPv4 address on ports 443 (HTTPS) and 80 (redirected to HTTPS)')]);
    expect(warningsOf(buildApp({ allowedCidrs: '203.0.113.7/32', openToInternet: true }))).toEqual([
      expect.stringMatching(/^openToInternet=true opens nothing: allowedCidrs does not contain 0.0.0.0\/0, so MLflow stays open to 203.0.113.7\/32 only\./),
    ]);
    expect(warningsOf(buildApp({ openToInternet: true }))).toEqual([expect.stringMatching(/opens nothing: .*there is no public load balancer at all/)]);
    expect(warningsOf(base)).toEqual([]);
    expect(warningsOf(open)).toEqual([]);
    expect(internetExposureNotice({ allowedCidrs: ['0.0.0.0/0'], openToInternet: true, serve: true }))
      .toContain("in front of MLflow's login page and API (basic-auth: the admin user and anyone you add), and the model server under /model (its token required).");
  });

  test('with allowedCidrs, an internet-facing load balancer admits exactly those CIDRs, over HTTPS with the certificate', () => {
    open.tracking.resourceCountIs('AWS::ElasticLoadBalancingV2::LoadBalancer', 2);
    open.tracking.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing' });
    const cidrRules = ingressRules(open.tracking).filter(([, rule]) => rule.CidrIp);
    expect(cidrRules.map(([, rule]) => `${rule.CidrIp}:${rule.FromPort}`).sort())
      .toEqual(['198.51.100.7/32:443', '198.51.100.7/32:80', '203.0.113.0/24:443', '203.0.113.0/24:80']);
    open.tracking.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443, Protocol: 'HTTPS', Certificates: [{ CertificateArn: CERTIFICATE }],
    });
    open.tracking.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 80, Protocol: 'HTTP', DefaultActions: [Match.objectLike({ Type: 'redirect', RedirectConfig: Match.objectLike({ Port: '443', Protocol: 'HTTPS' }) })],
    });
  });

  test('both load balancers check MLflow on /health and log their access', () => {
    const groups = resourcesOfType(open.tracking, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(groups).toHaveLength(2);
    for (const [, group] of groups) expect(group.Properties).toMatchObject({ HealthCheckPath: '/health', Port: 5000, Protocol: 'HTTP' });
    for (const [, alb] of resourcesOfType(open.tracking, 'AWS::ElasticLoadBalancingV2::LoadBalancer')) {
      expect(alb.Properties?.LoadBalancerAttributes).toEqual(expect.arrayContaining([{ Key: 'access_logs.s3.enabled', Value: 'true' }]));
    }
  });

  test('MLflow answers to the public name and both load balancers', () => {
    const [, task] = resourcesOfType(open.tracking, 'AWS::ECS::TaskDefinition')[0];
    const hosts = text(task.Properties?.ContainerDefinitions[0].Environment.find((e: { Name: string }) => e.Name === 'MLFLOW_ALLOWED_HOSTS').Value);
    expect(hosts).toContain('mlflow.example.com');
    expect(hosts).toContain('MlflowPublicLoadBalancer');
    expect(hosts).toContain('MlflowInternalLoadBalancer');
  });
});

describe('outputs and clean-up', () => {
  test('outputs name the MLflow URL, the admin secret and the logs', () => {
    base.tracking.hasOutput('MlflowUrl', { Value: Match.stringLikeRegexp('Session Manager tunnel') });
    base.tracking.hasOutput('MlflowAdminSecret', { Value: { Ref: Match.stringLikeRegexp('MlflowAdminSecret') } });
    base.tracking.hasOutput('MlflowLogGroup', {});
    open.tracking.hasOutput('MlflowUrl', { Value: 'https://mlflow.example.com' });
  });

  test('every log group, including those of CDK\'s helper functions, is deleted with the stack', () => {
    const groups = resourcesOfType(base.tracking, 'AWS::Logs::LogGroup');
    expect(groups.length).toBeGreaterThanOrEqual(3);
    for (const [, group] of groups) expect(group.DeletionPolicy).toBe('Delete');
    const functions = resourcesOfType(base.tracking, 'AWS::Lambda::Function').map(([id]) => id);
    const named = groups.map(([, group]) => text(group.Properties?.LogGroupName));
    for (const fn of functions) expect(named.some((name) => name.includes('/aws/lambda/') && name.includes(fn))).toBe(true);
  });
});
