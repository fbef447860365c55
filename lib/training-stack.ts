import * as path from 'node:path';
import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { ArtifactBucket } from './artifact-bucket';
import type { DeploymentConfig } from './config';
import { ContainerImageSource } from './container-image';
import { DeployRunStarter } from './deploy-run-starter';
import { ownLambdaLogGroups } from './lambda-log-groups';
import type { MlflowLoadBalancer } from './mlflow-load-balancer';
import { ModelServer, type ModelServerEntrance } from './model-server';
import { RunNotifications } from './run-notifications';
import { MODEL_BASE_PATH, MODEL_SERVER_PORT, registeredModelName, restartCommand } from './model-server-command';
import {
  MLFLOW_EXPERIMENT, SERVING_OUTPUTS, SWEEP_OUTPUTS, sweepLogGroupNames, TRAINING_OUTPUTS, TUNNEL_MLFLOW_URL, trainerParameterNames,
} from './names';
import { trainerArgs } from './run-options';
import { deployRunId, encodeRunParameter } from './run-parameter';
import { SweepCompute } from './sweep-compute';
import { SweepJobDefinition } from './sweep-job-definition';
import { SweepStateMachine } from './sweep-state-machine';
import { TrainerGroup } from './trainer-group';
import { TrainerLaunchTemplate } from './trainer-launch-template';
import { trainerUserData } from './trainer-user-data';

/** Build context of the trainer image: the repository root, narrowed by the root .dockerignore. */
export const REPO_ROOT = path.resolve(__dirname, '..');

export interface TrainingStackProps extends StackProps {
  readonly config: DeploymentConfig;
  readonly vpc: ec2.IVpc;
  readonly artifacts: ArtifactBucket;
  /** datasets/ and checkpoints/ of the bucket, from the tracking stack. */
  readonly dataAccess: iam.IManagedPolicy;
  /** sweeps/ of the bucket, from the tracking stack. */
  readonly sweepPlanAccess: iam.IManagedPolicy;
  readonly mlflow: {
    readonly internalUrl: string;
    readonly adminSecret: secretsmanager.ISecret;
    readonly clientSecurityGroup: ec2.ISecurityGroup;
    /** The model server (`serve`) runs here and behind these load balancers. */
    readonly cluster: ecs.ICluster;
    readonly internalLoadBalancer: MlflowLoadBalancer;
    readonly publicLoadBalancer?: MlflowLoadBalancer;
    readonly publicUrl?: string;
  };
}

/**
 * The trainer: its image, an idle Auto Scaling group of one GPU instance, the run request the
 * instance reads at boot, and its log group. Training runs start from `npm run train:cloud`, or
 * from a deploy that changes the image or the run configuration. With `serve`, also the model
 * server, which runs the same image (see docs/cloud.md for why it lives here).
 */
export class TrainingStack extends Stack {
  public readonly runId: string;
  /** Present with `serve=true`. */
  public readonly modelServer?: ModelServer;
  public readonly sweeps: SweepStateMachine;

  constructor(scope: Construct, id: string, props: TrainingStackProps) {
    super(scope, id, props);
    const { config, artifacts, mlflow } = props;

    const image = new ContainerImageSource(this, 'TrainerImage', {
      directory: REPO_ROOT,
      file: 'trainer/Dockerfile',
      // Also in .dockerignore; repeated so that hashing the context never walks them.
      exclude: ['node_modules', 'cdk.out', 'runs', '.git'],
      prebuilt: config.images.trainer,
      build: config.images.build,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/malaria-mlops/${config.envName}/trainer`,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const args = trainerArgs(config.train);
    this.runId = deployRunId(image.fingerprint, args);
    const parameterNames = trainerParameterNames(config.envName);
    const runRequest = new ssm.StringParameter(this, 'RunRequest', {
      parameterName: parameterNames.runRequest,
      description: 'Trainer run request: run id on line 1, one trainer argument per line (npm run train:cloud writes it)',
      stringValue: encodeRunParameter({ runId: this.runId, args }),
    });
    const outcome = new ssm.StringParameter(this, 'Outcome', {
      parameterName: parameterNames.outcome,
      description: 'Outcome of the last trainer run, written by the instance',
      stringValue: '{"outcome":"none"}',
    });

    const notifications = config.notifyEmail ? new RunNotifications(this, 'RunNotifications', { email: config.notifyEmail }) : undefined;
    const template = new TrainerLaunchTemplate(this, 'Trainer', {
      instanceType: config.instanceType,
      rootVolumeGiB: config.rootVolumeGiB,
      securityGroup: mlflow.clientSecurityGroup,
      userData: trainerUserData({
        maxRuntimeMinutes: config.maxRuntimeMinutes,
        trainerImage: image.uri,
        region: this.region,
        bucket: artifacts.bucket.bucketName,
        logGroup: logGroup.logGroupName,
        runParameter: runRequest.parameterName,
        outcomeParameter: outcome.parameterName,
        mlflowTrackingUri: mlflow.internalUrl,
        mlflowSecretArn: mlflow.adminSecret.secretArn,
        mlflowExperimentName: MLFLOW_EXPERIMENT,
        mlflowUiUrl: mlflow.publicUrl ?? TUNNEL_MLFLOW_URL,
        notifyTopicArn: notifications?.topic.topicArn,
      }),
    });
    const { role } = template;
    image.grantPull(role);
    mlflow.adminSecret.grantRead(role);
    logGroup.grantWrite(role);
    runRequest.grantRead(role);
    outcome.grantWrite(role);
    role.addManagedPolicy(props.dataAccess);
    notifications?.grantPublish(role);

    const trainer = new TrainerGroup(this, 'TrainerGroup', {
      vpc: props.vpc,
      launchTemplate: template.launchTemplate,
      role,
      instanceType: config.instanceType,
      spot: config.spot,
    });
    if (config.trainOnDeploy) {
      new DeployRunStarter(this, 'DeployRunStarter', { group: trainer.group, runRequest, runId: this.runId });
      // Shown by cdk synth and cdk deploy, where the person deploying reads.
      Annotations.of(this).addWarningV2('malaria:train-on-deploy',
        `trainOnDeploy=true: this deploy starts a paid GPU run (${config.train.model}, ${config.train.epochs} epochs on ${config.spot ? 'spot ' : ''}${config.instanceType}, `
        + `at most ${config.maxRuntimeMinutes} minutes) whenever the trainer image or the run configuration changes. -c trainOnDeploy=false turns it off.`);
    }

    const startCommand = `npm run train:cloud -- --env ${config.envName} ${args.join(' ')}`.trim();
    new CfnOutput(this, TRAINING_OUTPUTS.startCommand, { description: 'Starts a training run (any trainer option can be added)', value: startCommand });
    new CfnOutput(this, TRAINING_OUTPUTS.logGroup, { description: 'Boot and training logs, one stream per run and instance', value: logGroup.logGroupName });
    new CfnOutput(this, 'TailLogsCommand', { description: 'Follows the trainer logs', value: `aws logs tail ${logGroup.logGroupName} --follow` });
    new CfnOutput(this, TRAINING_OUTPUTS.groupName, { description: 'Auto Scaling group of the trainer (desired 1 while a run is on)', value: trainer.group.autoScalingGroupName });
    new CfnOutput(this, TRAINING_OUTPUTS.runParameter, { description: 'Run request the next instance reads', value: runRequest.parameterName });
    new CfnOutput(this, TRAINING_OUTPUTS.outcomeParameter, { description: 'Outcome of the last run', value: outcome.parameterName });
    new CfnOutput(this, TRAINING_OUTPUTS.instanceType, { description: 'Instance type of the trainer (train:cloud checks the GPU quota for it)', value: config.instanceType });
    new CfnOutput(this, TRAINING_OUTPUTS.capacity, { description: 'spot or on-demand, for the trainer and sweeps', value: config.spot ? 'spot' : 'on-demand' });
    if (notifications) new CfnOutput(this, 'RunNotificationsTopic', { description: `Run outcomes, e-mailed to ${config.notifyEmail} once the subscription is confirmed`, value: notifications.topic.topicArn });
    if (config.serve) this.modelServer = this.serveChampion(image, config, mlflow);
    this.sweeps = this.sweepOnBatch(image.ecsImage, props);
    ownLambdaLogGroups(this);
  }

  /** Sweeps: AWS Batch GPU capacity idle at zero, the job every step runs, and the state machine that runs a sweep. */
  private sweepOnBatch(image: ecs.ContainerImage, props: TrainingStackProps): SweepStateMachine {
    const { config, artifacts, mlflow } = props;
    const names = sweepLogGroupNames(config.envName);
    const compute = new SweepCompute(this, 'SweepCompute', {
      vpc: props.vpc,
      securityGroup: mlflow.clientSecurityGroup,
      instanceType: config.sweepInstanceType,
      maxInstances: config.sweepMaxInstances,
      rootVolumeGiB: config.rootVolumeGiB,
      spot: config.spot,
    });
    const logGroup = new logs.LogGroup(this, 'SweepLogs', {
      logGroupName: names.jobs,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const job = new SweepJobDefinition(this, 'SweepJob', {
      image,
      instanceType: config.sweepInstanceType,
      timeout: Duration.minutes(config.maxRuntimeMinutes),
      mlflow: { trackingUri: mlflow.internalUrl, credentials: mlflow.adminSecret },
      dataPolicies: [props.dataAccess, props.sweepPlanAccess],
      logGroup,
      bucketName: artifacts.bucket.bucketName,
      region: this.region,
    });
    const orchestration = new SweepStateMachine(this, 'Sweep', {
      jobQueue: compute.jobQueue,
      jobDefinition: job.jobDefinition,
      bucketName: artifacts.bucket.bucketName,
      logGroupName: names.orchestration,
    });
    new CfnOutput(this, SWEEP_OUTPUTS.stateMachine, { description: 'Runs one sweep (npm run sweep -- --cloud starts it)', value: orchestration.stateMachine.stateMachineArn });
    new CfnOutput(this, SWEEP_OUTPUTS.jobQueue, { description: 'Batch queue of the sweep jobs', value: compute.jobQueue.jobQueueArn });
    new CfnOutput(this, SWEEP_OUTPUTS.bucket, { description: 'Bucket of the sweep plans (sweeps/<id>/plan.json)', value: artifacts.bucket.bucketName });
    new CfnOutput(this, SWEEP_OUTPUTS.logGroup, { description: 'Logs of the sweep jobs', value: logGroup.logGroupName });
    new CfnOutput(this, SWEEP_OUTPUTS.instanceType, { description: 'Instance type of sweep jobs (sweep --cloud checks the GPU quota for it)', value: config.sweepInstanceType });
    new CfnOutput(this, SWEEP_OUTPUTS.maxInstances, { description: 'At most this many sweep instances at once', value: String(config.sweepMaxInstances) });
    return orchestration;
  }

  private serveChampion(image: ContainerImageSource, config: DeploymentConfig, mlflow: TrainingStackProps['mlflow']): ModelServer {
    const entrance = (id: string, lb: MlflowLoadBalancer): ModelServerEntrance => ({
      id, listenerArn: lb.listener.listenerArn, securityGroupId: lb.securityGroup.securityGroupId,
    });
    const server = new ModelServer(this, 'ModelServer', {
      cluster: mlflow.cluster,
      // The trainer's own image: built and pushed once.
      image: image.ecsImage,
      modelName: registeredModelName(config.train),
      mlflow: { trackingUri: mlflow.internalUrl, credentials: mlflow.adminSecret },
      entrances: [
        { ...entrance('Internal', mlflow.internalLoadBalancer), mlflowPort: mlflow.internalLoadBalancer.port },
        ...(mlflow.publicLoadBalancer ? [entrance('Public', mlflow.publicLoadBalancer)] : []),
      ],
      logGroupName: `/malaria-mlops/${config.envName}/model-server`,
    });
    new CfnOutput(this, SERVING_OUTPUTS.url, {
      description: 'Where people send scoring requests (POST <url>/invocations)',
      value: mlflow.publicUrl
        ? `${mlflow.publicUrl}${MODEL_BASE_PATH}`
        : `http://localhost:${MODEL_SERVER_PORT}${MODEL_BASE_PATH} through a Session Manager tunnel (no allowedCidrs): see docs/cloud.md`,
    });
    new CfnOutput(this, SERVING_OUTPUTS.internalUrl, { description: 'The model server inside the VPC (MLflow clients reach it)', value: `${mlflow.internalUrl}${MODEL_BASE_PATH}` });
    new CfnOutput(this, SERVING_OUTPUTS.restartCommand, {
      description: 'Restarts the model server, which then serves the current champion',
      value: restartCommand(mlflow.cluster.clusterName, server.service.serviceName),
    });
    new CfnOutput(this, SERVING_OUTPUTS.tokenCommand, {
      description: 'Prints the token scoring requests send as Authorization: Bearer <token>',
      value: `aws secretsmanager get-secret-value --secret-id ${server.token.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, SERVING_OUTPUTS.service, { description: 'ECS service of the model server (for the tunnel)', value: server.service.serviceName });
    new CfnOutput(this, SERVING_OUTPUTS.logGroup, { description: 'Model server logs', value: server.logGroup.logGroupName });
    return server;
  }
}
