import { Annotations, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { TRAINER_AMI_PARAMETER } from './config';
import { acknowledgeUnscopableActions, acknowledgeWildcardResource } from './nag-acknowledgements';

export interface TrainerLaunchTemplateProps {
  readonly instanceType: string;
  readonly rootVolumeGiB: number;
  /** The only security group: it admits nothing, and MLflow's internal load balancer admits it. */
  readonly securityGroup: ec2.ISecurityGroup;
  readonly userData: ec2.UserData;
}

/**
 * The GPU instance every training run starts from: the Deep Learning Base OSS Nvidia Driver AMI
 * (driver, Docker and the NVIDIA container toolkit preinstalled), IMDSv2 only with a hop limit of
 * 2 so the container reaches the instance's credentials, an encrypted gp3 root volume, no SSH key
 * and no inbound rules (Session Manager is the way in), and a role that starts with nothing but
 * Session Manager; the training stack grants the rest resource by resource.
 */
export class TrainerLaunchTemplate extends Construct {
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TrainerLaunchTemplateProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: 'Trainer instance: pull the image, its bucket prefixes, MLflow secret, own log group, leave its group',
    });
    // Session Manager's agent, without the managed policy's read access to every SSM parameter.
    const anyInstance = Stack.of(this).formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:UpdateInstanceInformation'], resources: [anyInstance] }));
    acknowledgeWildcardResource(this.role, anyInstance, 'The instance id is only known at launch; the action registers the instance with Session Manager.');
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      resources: ['*'],
    }));
    acknowledgeUnscopableActions(this.role, ['ssmmessages:*Channel (Session Manager)', 'ecr:GetAuthorizationToken (image pull)']);

    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      machineImage: trainerMachineImage(this),
      instanceType: new ec2.InstanceType(props.instanceType),
      role: this.role,
      securityGroup: props.securityGroup,
      userData: props.userData,
      requireImdsv2: true,
      httpPutResponseHopLimit: 2,
      httpEndpoint: true,
      instanceInitiatedShutdownBehavior: ec2.InstanceInitiatedShutdownBehavior.TERMINATE,
      blockDevices: [{
        deviceName: '/dev/sda1',
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3, deleteOnTermination: true }),
      }],
    });
  }
}

/**
 * With an account and region (any `cdk deploy` with credentials), the AMI id is looked up once and pinned in
 * cdk.context.json, so later deploys reuse it until the entry is removed. Without an account (a
 * synth with no credentials, most tests), the template resolves the public parameter at deploy time.
 */
function trainerMachineImage(scope: Construct): ec2.IMachineImage {
  const stack = Stack.of(scope);
  const pinned = !Token.isUnresolved(stack.account) && !Token.isUnresolved(stack.region);
  if (!pinned) {
    Annotations.of(scope).addWarningV2('malaria:ami-not-pinned',
      'Synthesized without an account: the trainer AMI resolves at deploy time instead of being pinned in cdk.context.json.');
  }
  return ec2.MachineImage.fromSsmParameter(TRAINER_AMI_PARAMETER, { cachedInContext: pinned });
}
