import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { BatchClient } from '@aws-sdk/client-batch';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { IAMClient } from '@aws-sdk/client-iam';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { UserError } from '../../trainer/src/user-error';
import { stackNames } from '../names';

/** The AWS clients the launchers (train:cloud, sweep --cloud, cloud:sleep/wake, cloud:check) use, all for one region. */
export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
  readonly rds: RDSClient;
  readonly stepFunctions: SFNClient;
  readonly batch: BatchClient;
  readonly s3: S3Client;
  readonly serviceQuotas: ServiceQuotasClient;
  readonly ec2: EC2Client;
  readonly sts: STSClient;
  readonly iam: IAMClient;
  readonly ecr: ECRClient;
}

/** Clients for `region`, or the AWS profile's region when none is given. The SDK connects only on a first call. */
export function createAwsClients(region?: string): AwsClients {
  quietNodeVersionNotice();
  const config = region ? { region } : {};
  return {
    cloudFormation: new CloudFormationClient(config),
    autoScaling: new AutoScalingClient(config),
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    rds: new RDSClient(config),
    stepFunctions: new SFNClient(config),
    batch: new BatchClient(config),
    s3: new S3Client({ ...config, followRegionRedirects: true }),
    serviceQuotas: new ServiceQuotasClient(config),
    ec2: new EC2Client(config),
    sts: new STSClient(config),
    iam: new IAMClient(config),
    ecr: new ECRClient(config),
  };
}

/**
 * The SDK prints a seven-line notice on Node 20 at the first client it creates. Which Node versions
 * this project supports is settled in package.json's engines and the README (Node 20 until the SDK
 * release that needs 22; see the README), so the notice is turned off the way the SDK documents,
 * unless the user set the variable.
 */
export function quietNodeVersionNotice(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/** What a launcher command is given from outside: replaced in tests. */
export interface LauncherDeps {
  readonly clients: (region?: string) => AwsClients;
  readonly now: () => Date;
  readonly print: (line: string) => void;
}

/** One stack's outputs, read once. */
export interface StackOutputs {
  readonly envName: string;
  readonly stackName: string;
  has(key: string): boolean;
  /** The output's value; a missing one is an error that says to redeploy. */
  output(key: string): string;
}

/** Reads one stack's outputs; a missing stack, region or credentials become errors that say what to do. */
export async function stackOutputs(clients: AwsClients, stackName: string, envName: string): Promise<StackOutputs> {
  const response = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })).catch((error: unknown) => {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'ValidationError') {
      throw new UserError(`stack ${stackName} does not exist in this account and region: deploy it first (npx cdk deploy --all -c env=${envName})`);
    }
    // The SDK's own words for a missing region or missing credentials read like a crash.
    if (message === 'Region is missing') {
      throw new UserError('no AWS region: pass --region <region>, or set AWS_REGION or a region in your AWS profile');
    }
    if (name === 'CredentialsProviderError') {
      throw new UserError(`no AWS credentials (${message}): run \`aws configure\`, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
    }
    throw error;
  });
  const outputs = new Map((response.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  return {
    envName,
    stackName,
    has: (key) => Boolean(outputs.get(key)),
    output(key) {
      const value = outputs.get(key);
      if (!value) throw new UserError(`stack ${stackName} has no output ${key}: redeploy it (npx cdk deploy --all -c env=${envName})`);
      return value;
    },
  };
}

/** An environment's training stack, read through its outputs. */
export function trainingStackOutputs(clients: AwsClients, envName: string): Promise<StackOutputs> {
  return stackOutputs(clients, stackNames(envName).training, envName);
}
