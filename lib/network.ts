import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * A VPC over two availability zones without NAT gateways (about $33 a month each): the load
 * balancers, the MLflow task and the trainer sit in public subnets and reach AWS APIs and ECR
 * directly, none accepting inbound traffic except through the rules their security groups add;
 * the database sits in isolated subnets with no route out. S3 traffic (datasets, checkpoints,
 * artifacts) stays inside through a gateway endpoint, which costs nothing. Flow logs record
 * rejected and accepted traffic for a month.
 */
export class Network extends Construct {
  public readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.42.0.0/16'),
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: true },
        { name: 'database', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        all: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup), trafficType: ec2.FlowLogTrafficType.ALL },
      },
      // Nothing here uses the default security group; restricting it would add a Lambda-backed
      // custom resource (and its log group) to every deploy for no gain.
      restrictDefaultSecurityGroup: false,
    });
  }
}
