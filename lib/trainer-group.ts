import { Validations } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';

/** Why an Auto Scaling group's ARN carries a wildcard. */
export const GROUP_ARN_REASON = 'The group id inside an Auto Scaling group ARN is only known after creation; the group name pins it to this one group.';

export interface TrainerGroupProps {
  readonly vpc: ec2.IVpc;
  readonly launchTemplate: ec2.LaunchTemplate;
  /** The instances' role; it may take its own instance out of this group. */
  readonly role: iam.IRole;
  readonly instanceType: string;
  /**
   * Run on spot capacity.
   * @default false
   */
  readonly spot?: boolean;
}

/**
 * An Auto Scaling group of at most one trainer, idle at 0. A run starts by setting the desired
 * capacity to 1 (the launcher, or a deploy); the instance sets it back to 0 when it is done by
 * leaving the group. While it is 1, an instance that disappears (a spot reclaim) is replaced, and
 * the replacement resumes the run from its checkpoint. Deleting the group terminates a running
 * instance, so `cdk destroy` leaves none behind.
 */
export class TrainerGroup extends Construct {
  public readonly group: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: TrainerGroupProps) {
    super(scope, id);
    const capacity = props.spot
      ? {
        mixedInstancesPolicy: {
          launchTemplate: props.launchTemplate,
          launchTemplateOverrides: [{ instanceType: new ec2.InstanceType(props.instanceType) }],
          instancesDistribution: {
            onDemandBaseCapacity: 0,
            onDemandPercentageAboveBaseCapacity: 0,
            spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
          },
        },
      }
      : { launchTemplate: props.launchTemplate };
    this.group = new autoscaling.AutoScalingGroup(this, 'Group', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      minCapacity: 0,
      maxCapacity: 1,
      // No desiredCapacity: an update would reset it and end a running training.
      ...capacity,
    });
    // A policy of its own: the launch template waits for the role's default policy, and that
    // policy naming the group would make the group wait for itself.
    const leaveGroup = new iam.Policy(this, 'LeaveGroup', {
      roles: [props.role],
      statements: [new iam.PolicyStatement({
        actions: ['autoscaling:TerminateInstanceInAutoScalingGroup'],
        resources: [this.group.autoScalingGroupArn],
      })],
    });
    acknowledgeWildcardResource(leaveGroup, this.group.autoScalingGroupArn, GROUP_ARN_REASON);
    if (props.spot) {
      Validations.of(this.group).acknowledge({
        id: 'AwsSolutions-EC26',
        reason: "cdk-nag cannot follow a mixed instances policy to its launch template; that template's root volume is encrypted (test/lib/training-stack.test.ts).",
      });
    }
    Validations.of(this.group).acknowledge({
      id: 'AwsSolutions-AS3',
      reason: 'Each run records its outcome in an SSM parameter and its log stream; scaling notifications would repeat that.',
    });
  }
}
