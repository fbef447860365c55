import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';

type ServiceDefaults = Pick<ecs.FargateServiceProps,
  'desiredCount' | 'minHealthyPercent' | 'maxHealthyPercent' | 'assignPublicIp' | 'vpcSubnets' | 'circuitBreaker' | 'healthCheckGracePeriod' | 'enableExecuteCommand'>;

/**
 * How our services behind the load balancers run (MLflow, the model server): one task, replaced
 * only once its successor is healthy, rolled back when a new one cannot start, and three minutes
 * to get ready before health checks count. Public subnets with a public IP reach ECR, Secrets
 * Manager and CloudWatch Logs without a NAT gateway; the security groups still admit only the load
 * balancers. ECS Exec is on: a Session Manager tunnel into the task is how people reach it when
 * there is no public load balancer.
 */
export function loadBalancedServiceDefaults(): ServiceDefaults {
  return {
    desiredCount: 1,
    minHealthyPercent: 100,
    maxHealthyPercent: 200,
    assignPublicIp: true,
    vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
    circuitBreaker: { rollback: true },
    healthCheckGracePeriod: Duration.minutes(3),
    enableExecuteCommand: true,
  };
}
