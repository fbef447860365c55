import * as path from 'node:path';
import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { BUCKET_PREFIXES, type ArtifactBucket } from './artifact-bucket';
import { loadBalancedServiceDefaults } from './fargate-defaults';
import { MLFLOW_PORT, MlflowLoadBalancer } from './mlflow-load-balancer';
import { acknowledgeUnscopableActions } from './nag-acknowledgements';
import type { MlflowDatabase } from './mlflow-database';

/** The MLflow server image's build context: mlflow-stack/ at the repository root. */
export const MLFLOW_IMAGE_DIR = path.resolve(__dirname, '..', 'mlflow-stack');
export const MLFLOW_ADMIN_USER = 'admin';
const TUNNEL_HOSTS = ['localhost', 'localhost:*', '127.0.0.1', '127.0.0.1:*'];

export interface MlflowServiceProps {
  readonly vpc: ec2.IVpc;
  /** The MLflow server image (mlflow-stack/), however it was made (container-image.ts). */
  readonly image: ecs.ContainerImage;
  readonly database: MlflowDatabase;
  readonly artifacts: ArtifactBucket;
  /** IPv4 CIDRs for the public load balancer; empty: no public load balancer. */
  readonly allowedCidrs: readonly string[];
  /** @default HTTP only on the public load balancer */
  readonly certificateArn?: string;
  /** @default the public load balancer's DNS name */
  readonly domainName?: string;
}

/**
 * The MLflow tracking server (mlflow-stack/) on ECS Fargate: PostgreSQL for runs and for
 * basic-auth users, S3 for artifacts served through the server, an admin password generated into
 * Secrets Manager. An internal load balancer serves machines in the VPC that join
 * `clientSecurityGroup` (the trainer); a second, internet-facing one exists only when
 * `allowedCidrs` names who may reach the UI.
 */
export class MlflowService extends Construct {
  public readonly service: ecs.FargateService;
  public readonly cluster: ecs.Cluster;
  /** JSON `{"username":"admin","password":...}`; the trainer logs in with it too. */
  public readonly adminSecret: secretsmanager.Secret;
  /** Members reach MLflow through the internal load balancer. */
  public readonly clientSecurityGroup: ec2.SecurityGroup;
  /** The tracking URI inside the VPC. */
  public readonly internalUrl: string;
  /** What people open; undefined without allowedCidrs (then a Session Manager tunnel, see docs/cloud.md). */
  public readonly publicUrl?: string;
  /** Admits `clientSecurityGroup`; `internalUrl` points at it. */
  public readonly internalLoadBalancer: MlflowLoadBalancer;
  /** Admits `allowedCidrs`; undefined without them. */
  public readonly publicLoadBalancer?: MlflowLoadBalancer;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: MlflowServiceProps) {
    super(scope, id);
    const { vpc, database, artifacts } = props;

    this.adminSecret = new secretsmanager.Secret(this, 'AdminSecret', {
      description: 'MLflow basic-auth admin user (username, password)',
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ username: MLFLOW_ADMIN_USER }),
        generateStringKey: 'password',
        passwordLength: 32,
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.adminSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'MLflow keeps the admin password in its own auth database after the first start; rotating the secret would not change it.',
    });

    this.clientSecurityGroup = new ec2.SecurityGroup(this, 'ClientSecurityGroup', {
      vpc,
      description: 'MLflow clients inside the VPC (the trainer); admitted by the internal load balancer',
    });

    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc, containerInsightsV2: ecs.ContainerInsights.DISABLED });
    Validations.of(this.cluster).acknowledge({
      id: 'AwsSolutions-ECS4',
      reason: 'One task; Container Insights would bill per metric and write a log group outside the stack that cdk destroy leaves behind. The service logs to its own log group.',
    });

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const task = new ecs.FargateTaskDefinition(this, 'Task', { cpu: 1024, memoryLimitMiB: 2048 });
    const container = task.addContainer('Mlflow', {
      image: props.image,
      portMappings: [{ containerPort: MLFLOW_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'mlflow' }),
      environment: {
        MLFLOW_ARTIFACTS_DESTINATION: artifacts.uri(BUCKET_PREFIXES.mlflowArtifacts),
        MLFLOW_ADMIN_USERNAME: MLFLOW_ADMIN_USER,
        // RDS for PostgreSQL 15+ refuses unencrypted connections.
        DB_SSLMODE: 'require',
        MLFLOW_WORKERS: '2',
        AWS_DEFAULT_REGION: Stack.of(this).region,
      },
      secrets: {
        DB_HOST: ecs.Secret.fromSecretsManager(database.secret, 'host'),
        DB_PORT: ecs.Secret.fromSecretsManager(database.secret, 'port'),
        DB_NAME: ecs.Secret.fromSecretsManager(database.secret, 'dbname'),
        DB_USERNAME: ecs.Secret.fromSecretsManager(database.secret, 'username'),
        DB_PASSWORD: ecs.Secret.fromSecretsManager(database.secret, 'password'),
        MLFLOW_ADMIN_PASSWORD: ecs.Secret.fromSecretsManager(this.adminSecret, 'password'),
      },
    });
    artifacts.grantPrefix(task.taskRole, BUCKET_PREFIXES.mlflowArtifacts, { delete: true });
    acknowledgeUnscopableActions(task.obtainExecutionRole(), ['ecr:GetAuthorizationToken']);
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The plain environment holds only names and addresses; passwords come from Secrets Manager.',
    });

    this.service = new ecs.FargateService(this, 'Service', { cluster: this.cluster, taskDefinition: task, ...loadBalancedServiceDefaults() });
    acknowledgeUnscopableActions(task.taskRole, ['ssmmessages:* (ECS Exec)']);
    database.instance.connections.allowDefaultPortFrom(this.service, 'MLflow server');

    const internalLb = new MlflowLoadBalancer(this, 'Internal', {
      vpc,
      service: this.service,
      internetFacing: false,
      peers: [this.clientSecurityGroup],
      accessLogs: artifacts.accessLogs,
    });
    const publicLb = props.allowedCidrs.length
      ? new MlflowLoadBalancer(this, 'Public', {
        vpc,
        service: this.service,
        internetFacing: true,
        peers: props.allowedCidrs.map((cidr) => ec2.Peer.ipv4(cidr)),
        accessLogs: artifacts.accessLogs,
        ...(props.certificateArn ? { certificateArn: props.certificateArn } : {}),
      })
      : undefined;
    // MLflow rejects requests whose Host header it does not know (DNS-rebinding protection);
    // localhost is how a Session Manager tunnel arrives.
    container.addEnvironment('MLFLOW_ALLOWED_HOSTS', [
      internalLb.loadBalancer.loadBalancerDnsName,
      ...(publicLb ? [publicLb.loadBalancer.loadBalancerDnsName] : []),
      ...(props.domainName ? [props.domainName] : []),
      ...TUNNEL_HOSTS,
    ].join(','));

    this.internalUrl = internalLb.url;
    this.internalLoadBalancer = internalLb;
    this.publicLoadBalancer = publicLb;
    if (publicLb) {
      this.publicUrl = props.domainName ? `${props.certificateArn ? 'https' : 'http'}://${props.domainName}` : publicLb.url;
    }
  }
}
