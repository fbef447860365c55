import type { DeploymentConfig } from '../../config';
import type { AwsClients } from '../aws-clients';
import { type GpuQuota, gpuQuotaOf, instanceVcpus, quotaIncreaseFix, readGpuQuota } from '../gpu-quota';
import type { CheckResult } from './check-result';
import { couldNotLook } from './aws-errors';

/** One user of a quota: the trainer, or the sweeps' compute environment. */
interface QuotaUser {
  readonly who: string;
  readonly instanceType: string;
  readonly instances: number;
}

/**
 * The GPU vCPU quotas the deployment counts against (one, unless the trainer and sweeps are of
 * different families), each against what the trainer and the sweep compute environment need: a
 * fail when either could never start an instance, a warning when they cannot all run at once.
 */
export async function checkGpuQuotas(clients: AwsClients, config: DeploymentConfig, region: string): Promise<CheckResult[]> {
  const lifecycle = config.spot ? 'spot' : 'on-demand';
  const title = `GPU quota, ${lifecycle}`;
  const users: QuotaUser[] = [
    { who: 'the trainer', instanceType: config.instanceType, instances: 1 },
    { who: 'sweeps', instanceType: config.sweepInstanceType, instances: config.sweepMaxInstances },
  ];
  let vcpus: Record<string, number>;
  try {
    vcpus = await instanceVcpus(clients, users.map((u) => u.instanceType));
  } catch (error) {
    return [couldNotLook('gpu-quota', title, `the vCPUs of ${config.instanceType}`, error, 'ec2:DescribeInstanceTypes')];
  }
  const byQuota = new Map<string, { quota: GpuQuota; users: QuotaUser[] }>();
  for (const user of users) {
    const quota = gpuQuotaOf(user.instanceType, lifecycle);
    byQuota.set(quota.code, { quota, users: [...(byQuota.get(quota.code)?.users ?? []), user] });
  }
  return Promise.all([...byQuota.values()].map(async ({ quota, users: sharing }) => {
    const id = `gpu-quota-${quota.code}`;
    let value: number;
    try {
      value = await readGpuQuota(clients, quota);
    } catch (error) {
      return couldNotLook(id, title, `"${quota.name}"`, error, 'servicequotas:GetServiceQuota');
    }
    const need = (user: QuotaUser) => vcpus[user.instanceType] * user.instances;
    const total = sharing.reduce((sum, user) => sum + need(user), 0);
    const needs = sharing.map((user) => (user.instances === 1
      ? `${user.who} ${vcpus[user.instanceType]} (a ${user.instanceType})`
      : `${user.who} ${vcpus[user.instanceType]} per ${user.instanceType}, ${need(user)} for all ${user.instances} at once`)).join('; ');
    const head = `"${quota.name}" (${quota.code}) is ${value} vCPUs in ${region}`;
    const stuck = sharing.filter((user) => value < vcpus[user.instanceType]);
    if (stuck.length) {
      return {
        id, title, status: 'fail', summary: `${head}; ${needs}: ${stuck.map((u) => u.who).join(' and ')} could never start an instance`,
        fix: quotaIncreaseFix(quota, region, total),
      } satisfies CheckResult;
    }
    if (value < total) {
      return {
        id, title, status: 'warn',
        summary: `${head}; ${needs}: not all at once (other GPU instances of the account count against it too); the rest wait their turn`,
        fix: quotaIncreaseFix(quota, region, total),
      } satisfies CheckResult;
    }
    return { id, title, status: 'pass', summary: `${head}; ${needs}: room for all at once (${total})` } satisfies CheckResult;
  }));
}
