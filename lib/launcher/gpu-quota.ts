import { DescribeInstanceTypesCommand } from '@aws-sdk/client-ec2';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand } from '@aws-sdk/client-service-quotas';
import { GPU_INSTANCE_SPECS } from '../../trainer/src/cloud/gpu-instances';
import type { Lifecycle } from '../../trainer/src/cloud/prices';
import { UserError } from '../../trainer/src/user-error';
import type { AwsClients } from './aws-clients';

/** An EC2 vCPU quota in Service Quotas (service code `ec2`). */
export interface GpuQuota {
  readonly code: string;
  /** AWS's name for it, as the Service Quotas console shows it. */
  readonly name: string;
}

/**
 * The vCPU quotas that GPU instances count against: one per family group, on-demand and spot
 * apart. A new account often has 0 in each. Codes as the Service Quotas console lists them.
 */
const G_AND_VT: Readonly<Record<Lifecycle, GpuQuota>> = {
  'on-demand': { code: 'L-DB2E81BA', name: 'Running On-Demand G and VT instances' },
  spot: { code: 'L-3819A6DF', name: 'All G and VT Spot Instance Requests' },
};
const P_ON_DEMAND: GpuQuota = { code: 'L-417A185B', name: 'Running On-Demand P instances' };
const P5_SPOT: GpuQuota = { code: 'L-C4BD4855', name: 'All P5 Spot Instance Requests' };
const P2_TO_P4_SPOT: GpuQuota = { code: 'L-7212CCBC', name: 'All P4, P3 and P2 Spot Instance Requests' };

/** The quota an instance of `instanceType` counts against (the GPU families lib/config.ts accepts). */
export function gpuQuotaOf(instanceType: string, lifecycle: Lifecycle): GpuQuota {
  const family = instanceType.split('.')[0];
  if (/^(g|vt)/.test(family)) return G_AND_VT[lifecycle];
  if (/^p5/.test(family)) return lifecycle === 'spot' ? P5_SPOT : P_ON_DEMAND;
  if (/^p/.test(family)) return lifecycle === 'spot' ? P2_TO_P4_SPOT : P_ON_DEMAND;
  throw new Error(`no GPU quota known for ${instanceType}`);
}

/**
 * The quota's value in vCPUs for this account and region: the applied value, or AWS's default
 * where none was ever applied (GetServiceQuota then answers NoSuchResourceException).
 */
export async function readGpuQuota(clients: AwsClients, quota: GpuQuota): Promise<number> {
  const input = { ServiceCode: 'ec2', QuotaCode: quota.code };
  try {
    return (await clients.serviceQuotas.send(new GetServiceQuotaCommand(input))).Quota?.Value ?? 0;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchResourceException') throw error;
    return (await clients.serviceQuotas.send(new GetAWSDefaultServiceQuotaCommand(input))).Quota?.Value ?? 0;
  }
}

/** vCPUs of each type: from the project's table where it has the type, else from EC2. */
export async function instanceVcpus(clients: AwsClients, instanceTypes: readonly string[]): Promise<Record<string, number>> {
  const types = [...new Set(instanceTypes)];
  const vcpus: Record<string, number> = Object.fromEntries(types.filter((t) => GPU_INSTANCE_SPECS[t]).map((t) => [t, GPU_INSTANCE_SPECS[t].vcpus]));
  const unknown = types.filter((t) => vcpus[t] === undefined);
  if (unknown.length) {
    const response = await clients.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: unknown as never }));
    for (const info of response.InstanceTypes ?? []) {
      if (info.InstanceType && info.VCpuInfo?.DefaultVCpus) vcpus[info.InstanceType] = info.VCpuInfo.DefaultVCpus;
    }
  }
  return vcpus;
}

/** How long a quota increase takes, as the people who asked report it. */
export const QUOTA_REQUEST_WAIT = 'small increases on an account with some billing history are often approved within an hour; '
  + 'a new account can wait one to three business days, and AWS support may ask what it is for';

/** The exact ways to ask for `desired` vCPUs: the CLI command, the console page, and how long it takes. */
export function quotaIncreaseFix(quota: GpuQuota, region: string, desired: number): string[] {
  return [
    `aws service-quotas request-service-quota-increase --region ${region} --service-code ec2 --quota-code ${quota.code} --desired-value ${desired}`,
    `or in the console: https://${region}.console.aws.amazon.com/servicequotas/home/services/ec2/quotas/${quota.code}`,
    QUOTA_REQUEST_WAIT,
  ];
}

/** Where a deployed environment's GPU instances come from, as its stack outputs say. */
export interface GpuCapacity {
  readonly instanceType: string;
  readonly lifecycle: Lifecycle;
}

export interface QuotaVerdict {
  readonly quota: GpuQuota;
  readonly region: string;
  readonly quotaVcpus: number;
  readonly vcpusPerInstance: number;
  /** How many instances the quota lets run at once. */
  readonly instancesAllowed: number;
}

/** Reads the quota `capacity` counts against, in the clients' region. */
export async function quotaVerdict(clients: AwsClients, capacity: GpuCapacity): Promise<QuotaVerdict> {
  const quota = gpuQuotaOf(capacity.instanceType, capacity.lifecycle);
  const [quotaVcpus, vcpus, region] = await Promise.all([
    readGpuQuota(clients, quota),
    instanceVcpus(clients, [capacity.instanceType]),
    clients.serviceQuotas.config.region(),
  ]);
  const vcpusPerInstance = vcpus[capacity.instanceType];
  return { quota, region, quotaVcpus, vcpusPerInstance, instancesAllowed: Math.floor(quotaVcpus / vcpusPerInstance) };
}

/** "the quota "Running On-Demand G and VT instances" (L-DB2E81BA) of this account in eu-west-1 is 0 vCPUs" */
export function describeQuota(verdict: QuotaVerdict): string {
  return `the quota "${verdict.quota.name}" (${verdict.quota.code}) of this account in ${verdict.region} is ${verdict.quotaVcpus} vCPUs`;
}

/**
 * Before a launcher starts anything: refuses when the quota cannot hold one instance (it would
 * never start, and the run or sweep would wait without a word), and says so when it holds fewer
 * than `wanted` at once. A quota it cannot read (no permission) is mentioned, not fatal: the
 * launch may well work.
 */
export async function checkLaunchQuota(
  clients: AwsClients, capacity: GpuCapacity, wanted: number, what: string, print: (line: string) => void,
): Promise<void> {
  let verdict: QuotaVerdict;
  try {
    verdict = await quotaVerdict(clients, capacity);
  } catch (error) {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'CredentialsProviderError' || message === 'Region is missing') throw error;
    print(`note: the GPU quota could not be read (${name ?? 'error'}: ${message ?? ''}); starting anyway (npm run cloud:check shows it)`);
    return;
  }
  const type = `${capacity.lifecycle === 'spot' ? 'spot ' : ''}${capacity.instanceType}`;
  const desired = verdict.vcpusPerInstance * wanted;
  const fix = quotaIncreaseFix(verdict.quota, verdict.region, desired).map((line) => `  ${line}`).join('\n');
  if (verdict.instancesAllowed < 1) {
    throw new UserError(`${describeQuota(verdict)}, and one ${type} needs ${verdict.vcpusPerInstance}: ${what} would wait for an instance that never starts. `
      + `Nothing was started. Ask for ${desired} vCPUs:\n${fix}`);
  }
  if (verdict.instancesAllowed < wanted) {
    print(`note: ${describeQuota(verdict)}: ${verdict.instancesAllowed} ${type} at once of the ${wanted} ${what} could use; the rest wait their turn. For all at once, ask for ${desired} vCPUs:`);
    print(fix);
  }
}
