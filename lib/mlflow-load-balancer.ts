import { Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export const MLFLOW_PORT = 5000;

export interface MlflowLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  readonly service: ecs.FargateService;
  /** true: reachable from the internet (still only from `peers`); false: only inside the VPC. */
  readonly internetFacing: boolean;
  /** Who may connect: CIDRs for people, security groups for machines in the VPC. */
  readonly peers: readonly ec2.IPeer[];
  /**
   * Serve HTTPS on 443 with this certificate and redirect HTTP to it.
   * @default HTTP on port 80 only
   */
  readonly certificateArn?: string;
  readonly accessLogs: s3.IBucket;
}

/**
 * An Application Load Balancer in front of the MLflow task: health check on `/health` (open even
 * under basic-auth), access logs to the log bucket, and a security group that admits only `peers`.
 */
export class MlflowLoadBalancer extends Construct {
  public readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  /** Admits `peers`; other services behind this load balancer admit it. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The listener people and machines connect to (443 with a certificate, else 80); MLflow is its default action. */
  public readonly listener: elbv2.ApplicationListener;
  /** The port of `listener`. */
  public readonly port: number;
  /** `http(s)://<load balancer DNS name>` */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: MlflowLoadBalancerProps) {
    super(scope, id);
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `MLflow load balancer (${props.internetFacing ? 'internet-facing' : 'internal'})`,
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      internetFacing: props.internetFacing,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroup,
      dropInvalidHeaderFields: true,
    });
    this.loadBalancer.logAccessLogs(props.accessLogs, `alb/${id}`);

    const https = props.certificateArn !== undefined;
    const port = https ? 443 : 80;
    for (const peer of props.peers) {
      securityGroup.addIngressRule(peer, ec2.Port.tcp(port), `MLflow ${https ? 'HTTPS' : 'HTTP'}`);
      if (https) securityGroup.addIngressRule(peer, ec2.Port.tcp(80), 'HTTP, redirected to HTTPS');
      if (peer.canInlineRule && /\/0$/.test(peer.uniqueId)) {
        Validations.of(securityGroup).acknowledge({
          id: 'AwsSolutions-EC23',
          reason: `Open to ${peer.uniqueId} because allowedCidrs says so; MLflow still requires basic-auth credentials.`,
        });
      }
    }

    const listener = this.loadBalancer.addListener('Listener', {
      port,
      open: false,
      ...(https
        ? { protocol: elbv2.ApplicationProtocol.HTTPS, certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)], sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS }
        : { protocol: elbv2.ApplicationProtocol.HTTP }),
    });
    if (https) this.loadBalancer.addRedirect({ sourcePort: 80, targetPort: 443, open: false });
    listener.addTargets('Mlflow', {
      port: MLFLOW_PORT,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targets: [props.service],
      deregistrationDelay: Duration.seconds(30),
      healthCheck: { path: '/health', healthyHttpCodes: '200', interval: Duration.seconds(30) },
    });
    this.securityGroup = securityGroup;
    this.listener = listener;
    this.port = port;
    this.url = `${https ? 'https' : 'http'}://${this.loadBalancer.loadBalancerDnsName}`;
  }
}
