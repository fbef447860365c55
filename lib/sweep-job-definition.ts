import { Duration, Size, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { jobResources } from './gpu-instance-sizes';
import { acknowledgeUnscopableActions } from './nag-acknowledgements';
import { SWEEP_JOB_PARAMETERS, sweepCellCommand } from './sweep-commands';

/**
 * The trainer exits with 130 when it stops itself: on a spot two-minute notice (it polls IMDS) or
 * a SIGTERM from a draining host. It has written its checkpoint by then, so the attempt is retried
 * and resumes. Batch does not retry a job stopped by TerminateJob (`--stop`) or by its timeout.
 */
export const STOPPED_EXIT_CODE = '130';

/** How often one child may start: the first attempt and retries after spot reclaims. */
export const SWEEP_JOB_ATTEMPTS = 5;

export interface SweepJobDefinitionProps {
  /** The trainer image, as the training stack builds it. */
  readonly image: ecs.ContainerImage;
  /** Sizes the job: one GPU and its share of this instance type's vCPUs and memory. */
  readonly instanceType: string;
  /** Per attempt; then Batch stops the child (SIGTERM, SIGKILL 30 s later) and does not retry it. */
  readonly timeout: Duration;
  readonly mlflow: {
    readonly trackingUri: string;
    /** JSON `{"username":...,"password":...}`, passed in as MLFLOW_TRACKING_USERNAME / _PASSWORD. */
    readonly credentials: secretsmanager.ISecret;
  };
  /** Bucket access the job role gets: datasets/, checkpoints/, sweeps/. */
  readonly dataPolicies: readonly iam.IManagedPolicy[];
  readonly logGroup: logs.ILogGroup;
  /** The artifact bucket: the dataset cache is shared with `train:cloud`. */
  readonly bucketName: string;
  readonly region: string;
}

/**
 * The container every sweep step runs: the trainer image with one GPU, sized to fit one GPU's
 * share of the instance, the MLflow settings of the trainer instance, and a job role that holds
 * nothing but its bucket prefixes. Its command trains one cell of the plan
 * (AWS_BATCH_JOB_ARRAY_INDEX); the state machine overrides it for sweep-start and sweep-finish.
 */
export class SweepJobDefinition extends Construct {
  public readonly jobDefinition: batch.EcsJobDefinition;
  public readonly jobRole: iam.Role;

  constructor(scope: Construct, id: string, props: SweepJobDefinitionProps) {
    super(scope, id);
    const seconds = props.timeout.toSeconds();
    if (seconds < 60) throw new Error(`${this.node.path}: timeout must be at least 60 seconds (Batch's minimum), got ${seconds}`);
    const resources = jobResources(props.instanceType);

    this.jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: 'Sweep jobs: datasets/, checkpoints/ and sweeps/ of the artifact bucket, nothing else',
      managedPolicies: [...props.dataPolicies],
    });
    const container = new batch.EcsEc2ContainerDefinition(this, 'Container', {
      image: props.image,
      gpu: resources.gpus,
      cpu: resources.vcpus,
      memory: Size.mebibytes(resources.memoryMiB),
      command: sweepCellCommand(props.bucketName),
      environment: {
        MLFLOW_TRACKING_URI: props.mlflow.trackingUri,
        AWS_REGION: props.region,
        AWS_DEFAULT_REGION: props.region,
      },
      secrets: {
        MLFLOW_TRACKING_USERNAME: batch.Secret.fromSecretsManager(props.mlflow.credentials, 'username'),
        MLFLOW_TRACKING_PASSWORD: batch.Secret.fromSecretsManager(props.mlflow.credentials, 'password'),
      },
      jobRole: this.jobRole,
      logging: ecs.LogDrivers.awsLogs({ logGroup: props.logGroup, streamPrefix: 'sweep' }),
    });
    acknowledgeUnscopableActions(container.executionRole, ['ecr:GetAuthorizationToken (image pull)']);

    this.jobDefinition = new batch.EcsJobDefinition(this, 'JobDefinition', {
      container,
      timeout: props.timeout,
      retryAttempts: SWEEP_JOB_ATTEMPTS,
      retryStrategies: [
        // The instance went away under the container (spot reclaim, hardware): the retry resumes from the checkpoint.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.SPOT_INSTANCE_RECLAIMED),
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.custom({ onExitCode: STOPPED_EXIT_CODE })),
        // The first pull of a multi-GB image on a fresh instance is the likeliest transient failure.
        batch.RetryStrategy.of(batch.Action.RETRY, batch.Reason.CANNOT_PULL_CONTAINER),
        // Anything else (a failed training, a bad cell) fails that child only; the others go on.
        batch.RetryStrategy.of(batch.Action.EXIT, batch.Reason.custom({ onReason: '*' })),
      ],
      parameters: { [SWEEP_JOB_PARAMETERS.plan]: '', [SWEEP_JOB_PARAMETERS.checkpointUri]: '' },
    });
    Validations.of(this.jobDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The plain environment holds only the tracking URI and the region; the MLflow credentials come from Secrets Manager.',
    });
  }
}
