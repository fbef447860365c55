import { Duration, Validations } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { SWEEP_INSTANCE_SIZES } from './gpu-instance-sizes';

export interface SweepComputeProps {
  readonly vpc: ec2.IVpc;
  /** The trainer's security group: no inbound rules, admitted by MLflow's internal load balancer. */
  readonly securityGroup: ec2.ISecurityGroup;
  /** A type of lib/gpu-instance-sizes.ts. */
  readonly instanceType: string;
  /** At most this many instances at once. */
  readonly maxInstances: number;
  readonly rootVolumeGiB: number;
  /**
   * Spot capacity (price-capacity optimized) instead of on-demand.
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * Where sweep children run: an AWS Batch managed EC2 compute environment of one GPU instance type
 * on the ECS GPU-optimized AMI (Amazon Linux 2023, NVIDIA driver and container toolkit), idle at
 * zero instances, and its job queue. The instances sit where the trainer does (the public subnets,
 * which reach ECR and AWS APIs without a NAT gateway) in the trainer's security group, and take
 * IMDSv2 only, with a hop limit of 2 so the container can read its instance type and spot notices.
 */
export class SweepCompute extends Construct {
  public readonly computeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  public readonly jobQueue: batch.JobQueue;

  constructor(scope: Construct, id: string, props: SweepComputeProps) {
    super(scope, id);
    const spec = SWEEP_INSTANCE_SIZES[props.instanceType];
    const problems = [
      ...(spec ? [] : [`instanceType: ${props.instanceType} is not one of ${Object.keys(SWEEP_INSTANCE_SIZES).join(', ')}`]),
      ...(Number.isInteger(props.maxInstances) && props.maxInstances >= 1 ? [] : [`maxInstances: ${props.maxInstances} must be a whole number of at least 1`]),
    ];
    if (problems.length) throw new Error(`${this.node.path}: ${problems.join('; ')}`);

    const launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      requireImdsv2: true,
      httpPutResponseHopLimit: 2,
      httpEndpoint: true,
      blockDevices: [{
        // The root device of the ECS-optimized Amazon Linux 2023 AMIs; Docker keeps the image there.
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      }],
    });

    this.computeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'ComputeEnvironment', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [props.securityGroup],
      instanceTypes: [new ec2.InstanceType(props.instanceType)],
      // Otherwise CDK adds Batch's `optimal` CPU classes, and a GPU job could be offered a CPU instance.
      useOptimalInstanceClasses: false,
      // Without the NVIDIA image the instances have no driver and the container sees no GPU.
      images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023_NVIDIA }],
      launchTemplate,
      spot: props.spot ?? false,
      allocationStrategy: props.spot ? batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED : batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
      minvCpus: 0,
      maxvCpus: (spec?.vcpus ?? 0) * props.maxInstances,
      // A sweep's children may run for hours; an update must not cut them off.
      terminateOnUpdate: false,
      replaceComputeEnvironment: false,
    });
    Validations.of(this.computeEnvironment).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]',
      reason: 'The ECS agent on each instance needs it (register with the cluster, pull images, write container logs); AWS maintains it for exactly this use.',
    });

    this.jobQueue = new batch.JobQueue(this, 'Queue', {
      computeEnvironments: [{ computeEnvironment: this.computeEnvironment, order: 1 }],
      // A job that can never be placed would wait RUNNABLE for ever, and the sweep with it: cancel
      // it (the sweep then finishes with the cells that ran, and --status shows the reason).
      jobStateTimeLimitActions: [
        { reason: batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, maxTime: Duration.minutes(10) },
        { reason: batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, maxTime: Duration.minutes(10) },
        // Spot capacity comes and goes; a few hours without any is worth hearing about.
        { reason: batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, maxTime: Duration.hours(4) },
      ].map((limit) => ({ ...limit, action: batch.JobStateTimeLimitActionsAction.CANCEL, state: batch.JobStateTimeLimitActionsState.RUNNABLE })),
    });
  }
}
