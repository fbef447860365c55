import type { DescribeAvailabilityZonesCommandOutput, DescribeInstanceTypeOfferingsCommandOutput, DescribeInstanceTypesCommandOutput } from '@aws-sdk/client-ec2';
import type { DescribeImagesCommandOutput } from '@aws-sdk/client-ecr';
import type { DescribeServicesCommandOutput } from '@aws-sdk/client-ecs';
import type { GetRoleCommandOutput, PolicyEvaluationDecisionType, SimulatePrincipalPolicyCommandOutput } from '@aws-sdk/client-iam';
import type { GetAWSDefaultServiceQuotaCommandOutput, GetServiceQuotaCommandOutput } from '@aws-sdk/client-service-quotas';
import type { ListExecutionsCommandOutput } from '@aws-sdk/client-sfn';
import type { GetParameterCommandOutput } from '@aws-sdk/client-ssm';
import type { GetCallerIdentityCommandOutput } from '@aws-sdk/client-sts';
import { ACCOUNT, REGION, STATE_MACHINE_ARN } from './sweep-aws-responses';

/**
 * AWS answers for the GPU-quota guards and `npm run cloud:check`, in the shapes the services
 * return (field names and nesting as in the Service Quotas, EC2, STS, IAM, ECR, ECS, SSM and Step
 * Functions API references; ids made up).
 */

const metadata = { httpStatusCode: 200, requestId: 'c0ffee00-0000-4000-8000-000000000002', attempts: 1, totalRetryDelay: 0 };

/** An SDK service exception as the client throws it. */
export const awsError = (name: string, message: string, httpStatusCode = 400) => Object.assign(new Error(message), {
  name, $fault: 'client', $metadata: { ...metadata, httpStatusCode },
});

const QUOTA_NAMES: Record<string, string> = {
  'L-DB2E81BA': 'Running On-Demand G and VT instances', 'L-3819A6DF': 'All G and VT Spot Instance Requests',
  'L-417A185B': 'Running On-Demand P instances', 'L-C4BD4855': 'All P5 Spot Instance Requests',
};
const USAGE_CLASS: Record<string, string> = { 'L-DB2E81BA': 'G/OnDemand', 'L-3819A6DF': 'G/Spot', 'L-417A185B': 'P/OnDemand', 'L-C4BD4855': 'P5/Spot' };

const quota = (code: string, value: number, account: string) => ({
  ServiceCode: 'ec2',
  ServiceName: 'Amazon Elastic Compute Cloud (Amazon EC2)',
  QuotaArn: `arn:aws:servicequotas:${REGION}:${account}:ec2/${code}`,
  QuotaCode: code,
  QuotaName: QUOTA_NAMES[code],
  Value: value,
  Unit: 'None',
  Adjustable: true,
  GlobalQuota: false,
  UsageMetric: {
    MetricNamespace: 'AWS/Usage', MetricName: 'ResourceCount',
    MetricDimensions: { Class: USAGE_CLASS[code], Resource: 'vCPU', Service: 'EC2', Type: 'Resource' },
    MetricStatisticRecommendation: 'Maximum',
  },
});

/** GetServiceQuota of a quota applied to this account. */
export const appliedQuota = (code: string, value: number): GetServiceQuotaCommandOutput => ({
  $metadata: metadata, Quota: { ...quota(code, value, ACCOUNT), QuotaAppliedAtLevel: 'ACCOUNT' },
});

/** GetAWSDefaultServiceQuota: the default, with no account in its ARN. */
export const defaultQuota = (code: string, value: number): GetAWSDefaultServiceQuotaCommandOutput => ({ $metadata: metadata, Quota: quota(code, value, '') });

/** What GetServiceQuota answers for a quota never applied to the account. */
export const noAppliedQuota = () => awsError('NoSuchResourceException', 'The request failed because the specified resource does not exist.');

export const describeServices = (desiredCount: number): DescribeServicesCommandOutput => ({
  $metadata: metadata,
  services: [{
    serviceArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:service/malaria-dev-cluster/mlflow-service`,
    serviceName: 'mlflow-service', clusterArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/malaria-dev-cluster`,
    status: 'ACTIVE', desiredCount, runningCount: desiredCount, pendingCount: 0, launchType: 'FARGATE',
  }],
  failures: [],
});

export const runningExecutions = (names: readonly string[]): ListExecutionsCommandOutput => ({
  $metadata: metadata,
  executions: names.map((name) => ({
    executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
    stateMachineArn: STATE_MACHINE_ARN, name, status: 'RUNNING', startDate: new Date('2026-11-30T10:15:01Z'),
  })),
});

export const callerIdentity = (arn: string): GetCallerIdentityCommandOutput => ({
  $metadata: metadata, UserId: 'AIDAJQABLZS4A3QDU576Q', Account: arn.split(':')[4], Arn: arn,
});

export const availabilityZones = (zones: readonly string[]): DescribeAvailabilityZonesCommandOutput => ({
  $metadata: metadata,
  AvailabilityZones: zones.map((zone, i) => ({
    State: 'available', OptInStatus: 'opt-in-not-required', Messages: [], RegionName: REGION, ZoneName: zone,
    ZoneId: `euw1-az${i + 1}`, GroupName: REGION, NetworkBorderGroup: REGION, ZoneType: 'availability-zone',
  })),
});

/** DescribeInstanceTypeOfferings by availability zone. */
export const offerings = (instanceType: string, zones: readonly string[]): DescribeInstanceTypeOfferingsCommandOutput => ({
  $metadata: metadata,
  InstanceTypeOfferings: zones.map((Location) => ({ InstanceType: instanceType as never, LocationType: 'availability-zone', Location })),
});

export const instanceTypes = (types: Record<string, number>): DescribeInstanceTypesCommandOutput => ({
  $metadata: metadata,
  InstanceTypes: Object.entries(types).map(([type, vcpus]) => ({
    InstanceType: type as never, CurrentGeneration: true, VCpuInfo: { DefaultVCpus: vcpus, DefaultCores: vcpus / 2, DefaultThreadsPerCore: 2 },
  })),
});

export const parameter = (name: string, value: string): GetParameterCommandOutput => ({
  $metadata: metadata,
  Parameter: {
    Name: name, Type: 'String', Value: value, Version: 3, LastModifiedDate: new Date('2026-10-02T08:00:00Z'),
    ARN: `arn:aws:ssm:${REGION}:${name.startsWith('/aws/') ? '' : ACCOUNT}:parameter${name}`, DataType: name.endsWith('ami-id') ? 'aws:ec2:image' : 'text',
  },
});

export const parameterNotFound = () => awsError('ParameterNotFound', '');

export const simulation = (decisions: Record<string, PolicyEvaluationDecisionType>, resource = '*'): SimulatePrincipalPolicyCommandOutput => ({
  $metadata: metadata,
  IsTruncated: false,
  EvaluationResults: Object.entries(decisions).map(([action, decision]) => ({
    EvalActionName: action, EvalResourceName: resource, EvalDecision: decision, MatchedStatements: [], MissingContextValues: [],
  })),
});

export const role = (name: string, path: string): GetRoleCommandOutput => ({
  $metadata: metadata,
  Role: {
    Path: path, RoleName: name, RoleId: 'AROA3XFRBF535PLBIFPI4', Arn: `arn:aws:iam::${ACCOUNT}:role${path}${name}`,
    CreateDate: new Date('2026-01-05T12:00:00Z'), AssumeRolePolicyDocument: '%7B%7D',
  },
});

export const ecrImage = (repositoryName: string, imageDigest: string): DescribeImagesCommandOutput => ({
  $metadata: metadata,
  imageDetails: [{
    registryId: ACCOUNT, repositoryName, imageDigest, imageTags: ['5d41402'], imageSizeInBytes: 4_012_345_678,
    imagePushedAt: new Date('2026-11-29T17:20:00Z'), imageManifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
  }],
});
