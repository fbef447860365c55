import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { loadBalancedServiceDefaults } from './fargate-defaults';
import { MODEL_BASE_PATH, MODEL_SERVER_PORT, modelServerCommand, modelServerHealthCommand } from './model-server-command';
import { acknowledgeUnscopableActions } from './nag-acknowledgements';

/** Rule priority of /model/* on MLflow's listeners; any rule comes before MLflow, the default action. */
export const MODEL_ROUTE_PRIORITY = 10;

/**
 * A listener of a load balancer that another stack owns, given by its ARN and its security group's
 * id. The objects themselves would not do: routing a target group through the listener object
 * adds the load balancer's egress rule to the owning stack, which would then refer back to this
 * one (a cycle). Imported, every rule the server needs lands beside the server.
 */
export interface ModelServerEntrance {
  /** Names this entrance's constructs (`Internal`, `Public`). */
  readonly id: string;
  readonly listenerArn: string;
  /** The load balancer's security group: the only source the server admits. */
  readonly securityGroupId: string;
  /**
   * The server reaches MLflow through this load balancer on this port, so it admits the server.
   * @default the server does not connect to it
   */
  readonly mlflowPort?: number;
}

export interface ModelServerProps {
  readonly cluster: ecs.ICluster;
  /** The trainer image: its `serve` command is the server. */
  readonly image: ecs.ContainerImage;
  /** The registered model whose `champion` is served. */
  readonly modelName: string;
  readonly mlflow: {
    /** Reachable from inside the VPC. */
    readonly trackingUri: string;
    /** JSON `{"username":...,"password":...}` for MLflow's basic-auth. */
    readonly credentials: secretsmanager.ISecret;
  };
  /** Listeners that send /model and /model/* to the server. */
  readonly entrances: readonly ModelServerEntrance[];
  readonly logGroupName: string;
}

/**
 * The registry's champion model served on ECS Fargate (CPU; no GPU there) by the trainer image,
 * behind MLflow's own load balancers under /model, so the same people and machines reach it. The
 * model downloads through MLflow's artifact proxy: the task role holds no S3 access. The alias is
 * resolved when a task starts, so a new deployment of the service serves the new champion.
 */
export class ModelServer extends Construct {
  public readonly service: ecs.FargateService;
  /** The bearer token every scoring request must carry (MODEL_SERVER_TOKEN), generated at deploy time. */
  public readonly token: secretsmanager.Secret;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ModelServerProps) {
    super(scope, id);
    if (!props.entrances.length) throw new Error(`${this.node.path}: entrances must name at least one listener, or nobody can reach the server`);
    const { cluster, mlflow } = props;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // 4 GB: vgg16's weights are about 0.5 GB as float32 and exist twice while loading, beside
    // libtensorflow and request buffers; the small models need far less.
    this.token = new secretsmanager.Secret(this, 'Token', {
      description: 'Bearer token of the model server (Authorization: Bearer <token>)',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.token).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The server reads the token when a task starts; rotating it is a new value plus a restart (docs/cloud.md), which a rotation Lambda would not do.',
    });
    const task = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: 1024,
      memoryLimitMiB: 4096,
      runtimePlatform: { cpuArchitecture: ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    task.addContainer('ModelServer', {
      image: props.image,
      command: modelServerCommand(props.modelName),
      portMappings: [{ containerPort: MODEL_SERVER_PORT }],
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'model-server' }),
      environment: { MLFLOW_TRACKING_URI: mlflow.trackingUri },
      secrets: {
        MLFLOW_TRACKING_USERNAME: ecs.Secret.fromSecretsManager(mlflow.credentials, 'username'),
        MLFLOW_TRACKING_PASSWORD: ecs.Secret.fromSecretsManager(mlflow.credentials, 'password'),
        // Never open: anyone who reaches the load balancer must also know the token.
        MODEL_SERVER_TOKEN: ecs.Secret.fromSecretsManager(this.token),
      },
      // The server drains in-flight requests for 25 s after SIGTERM.
      stopTimeout: Duration.seconds(30),
      healthCheck: {
        command: modelServerHealthCommand(),
        interval: Duration.seconds(30),
        timeout: Duration.seconds(5),
        retries: 3,
        // Downloading and loading the model takes a while; /health answers 503 until then.
        startPeriod: Duration.minutes(3),
      },
    });
    acknowledgeUnscopableActions(task.obtainExecutionRole(), ['ecr:GetAuthorizationToken']);
    Validations.of(task).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The plain environment holds only the tracking URI; the MLflow credentials and the token come from Secrets Manager.',
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: cluster.vpc,
      description: 'Model server: admits only the MLflow load balancers',
    });
    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition: task,
      securityGroups: [this.securityGroup],
      // Among them: a restart starts the new task and waits for it to be healthy before the old one
      // drains, and a grace period for the model's download and load.
      ...loadBalancedServiceDefaults(),
    });
    Validations.of(task.taskRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'ECS Exec (the tunnel): ssmmessages channels support no resource-level permissions, and CDK grants the session log writes on * as it does for MLflow.',
    });

    for (const entrance of props.entrances) this.addEntrance(entrance);
  }

  private addEntrance(entrance: ModelServerEntrance): void {
    const loadBalancer = ec2.SecurityGroup.fromSecurityGroupId(this, `${entrance.id}LoadBalancerSecurityGroup`, entrance.securityGroupId, {
      // As created: its egress is granted rule by rule, here to the server's port.
      allowAllOutbound: false,
    });
    const listener = elbv2.ApplicationListener.fromApplicationListenerAttributes(this, `${entrance.id}Listener`, {
      listenerArn: entrance.listenerArn,
      securityGroup: loadBalancer,
    });
    const targets = new elbv2.ApplicationTargetGroup(this, `${entrance.id}Targets`, {
      vpc: this.service.cluster.vpc,
      port: MODEL_SERVER_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.IP,
      targets: [this.service],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: {
        path: `${MODEL_BASE_PATH}/health`,
        healthyHttpCodes: '200',
        interval: Duration.seconds(15),
        healthyThresholdCount: 2,
      },
    });
    // Forwarding through the listener opens the load balancer's egress to the server and the
    // server's ingress from the load balancer, on the server's port only.
    new elbv2.ApplicationListenerRule(this, `${entrance.id}Route`, {
      listener,
      priority: MODEL_ROUTE_PRIORITY,
      conditions: [elbv2.ListenerCondition.pathPatterns([MODEL_BASE_PATH, `${MODEL_BASE_PATH}/*`])],
      action: elbv2.ListenerAction.forward([targets]),
    });
    if (entrance.mlflowPort !== undefined) {
      loadBalancer.addIngressRule(this.securityGroup, ec2.Port.tcp(entrance.mlflowPort), 'Model server to MLflow');
    }
  }
}
