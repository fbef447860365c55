import { Validations } from 'aws-cdk-lib';
import type * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';
import { GROUP_ARN_REASON } from './trainer-group';

export interface DeployRunStarterProps {
  readonly group: autoscaling.AutoScalingGroup;
  /** Written by the same deploy; the run starts once it holds the new request. */
  readonly runRequest: ssm.StringParameter;
  /** Names the run; a deploy that changes it (new image or arguments) starts a new run. */
  readonly runId: string;
}

/**
 * Starts a training run from a deploy: sets the trainer group's desired capacity to 1 when the
 * stack is created and whenever the run id changes, and never on a deploy that changes neither.
 */
export class DeployRunStarter extends Construct {
  constructor(scope: Construct, id: string, props: DeployRunStarterProps) {
    super(scope, id);
    const start: cr.AwsSdkCall = {
      service: 'AutoScaling',
      action: 'setDesiredCapacity',
      parameters: { AutoScalingGroupName: props.group.autoScalingGroupName, DesiredCapacity: 1, HonorCooldown: false },
      physicalResourceId: cr.PhysicalResourceId.of(props.runId),
    };
    const starter = new cr.AwsCustomResource(this, 'SetDesiredCapacity', {
      resourceType: 'Custom::TrainerRunStarter',
      onCreate: start,
      onUpdate: start,
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['autoscaling:SetDesiredCapacity'], resources: [props.group.autoScalingGroupArn] }),
      ]),
    });
    starter.node.addDependency(props.runRequest);
    acknowledgeWildcardResource(starter, props.group.autoScalingGroupArn, GROUP_ARN_REASON);
    if (Construct.isConstruct(starter.grantPrincipal)) {
      Validations.of(starter.grantPrincipal).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "CDK's own function behind AwsCustomResource; the managed policy only lets it write its logs.",
      });
    }
  }
}
