import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ArtifactBucket, BUCKET_PREFIXES } from './artifact-bucket';
import type { DeploymentConfig } from './config';
import { internetExposureNotice } from './internet-exposure';
import { ownLambdaLogGroups } from './lambda-log-groups';
import { MlflowDatabase } from './mlflow-database';
import { MLFLOW_IMAGE_DIR, MlflowService } from './mlflow-service';
import { ContainerImageSource } from './container-image';
import { TRACKING_OUTPUTS, TUNNEL_MLFLOW_URL } from './names';
import { Network } from './network';

export interface TrackingStackProps extends StackProps {
  readonly config: DeploymentConfig;
}

/** The network, the bucket, PostgreSQL and the MLflow server: everything that outlives a training run. */
export class TrackingStack extends Stack {
  public readonly network: Network;
  public readonly artifacts: ArtifactBucket;
  public readonly mlflow: MlflowService;
  /** The trainer's access to the bucket: datasets/ and checkpoints/ only. */
  public readonly trainerDataAccess: iam.ManagedPolicy;
  /** Sweep jobs' access to their plans: sweeps/ only. */
  public readonly sweepPlanAccess: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: TrackingStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.network = new Network(this, 'Network');
    const { vpc } = this.network;
    this.artifacts = new ArtifactBucket(this, 'Artifacts', { retainData: config.retainData });
    this.trainerDataAccess = this.artifacts.prefixPolicy('TrainerDataAccess', [
      { prefix: BUCKET_PREFIXES.datasets },
      { prefix: BUCKET_PREFIXES.checkpoints, delete: true },
    ]);
    this.sweepPlanAccess = this.artifacts.prefixPolicy('SweepPlanAccess', [{ prefix: BUCKET_PREFIXES.sweeps }]);
    const database = new MlflowDatabase(this, 'Database', { vpc, retainData: config.retainData });
    const image = new ContainerImageSource(this, 'MlflowImage', { directory: MLFLOW_IMAGE_DIR, prebuilt: config.images.mlflow, build: config.images.build });
    this.mlflow = new MlflowService(this, 'Mlflow', {
      vpc,
      image: image.ecsImage,
      database,
      artifacts: this.artifacts,
      allowedCidrs: config.allowedCidrs,
      ...(config.certificateArn ? { certificateArn: config.certificateArn } : {}),
      ...(config.domainName ? { domainName: config.domainName } : {}),
    });

    const exposure = internetExposureNotice(config);
    // Shown by cdk synth and cdk deploy, where the person deploying reads.
    if (exposure) Annotations.of(this).addWarningV2('malaria:open-to-internet', exposure);

    new CfnOutput(this, 'MlflowUrl', {
      description: 'Where people open MLflow',
      value: this.mlflow.publicUrl ?? `${TUNNEL_MLFLOW_URL} through a Session Manager tunnel (no allowedCidrs): see docs/cloud.md`,
    });
    new CfnOutput(this, 'MlflowInternalUrl', { description: 'MLflow inside the VPC (the trainer uses it)', value: this.mlflow.internalUrl });
    new CfnOutput(this, 'MlflowAdminSecret', {
      description: 'Secret with the MLflow admin user and password',
      value: this.mlflow.adminSecret.secretArn,
    });
    new CfnOutput(this, 'MlflowAdminPasswordCommand', {
      description: 'Prints the MLflow admin password',
      value: `aws secretsmanager get-secret-value --secret-id ${this.mlflow.adminSecret.secretArn} --query SecretString --output text`,
    });
    new CfnOutput(this, TRACKING_OUTPUTS.cluster, { description: 'ECS cluster of the MLflow task (for the tunnel)', value: this.mlflow.cluster.clusterName });
    new CfnOutput(this, TRACKING_OUTPUTS.service, { description: 'ECS service of MLflow (npm run cloud:sleep stops it)', value: this.mlflow.service.serviceName });
    new CfnOutput(this, TRACKING_OUTPUTS.database, { description: 'RDS instance of MLflow (npm run cloud:sleep stops it)', value: database.instance.instanceIdentifier });
    new CfnOutput(this, 'MlflowLogGroup', { description: 'MLflow server logs', value: this.mlflow.logGroup.logGroupName });
    new CfnOutput(this, 'ArtifactBucketName', { description: 'MLflow artifacts, dataset cache, checkpoints', value: this.artifacts.bucket.bucketName });
    ownLambdaLogGroups(this);
  }
}
