import type { DeploymentConfig } from '../../config';
import type { AwsClients } from '../aws-clients';
import type { Lifecycle } from '../../../trainer/src/cloud/prices';
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
  const lifecycle: Lifecycle = config.spot ? 'spot' : 'on-demand';
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
  const byQuota = (capacity: Lifecycle) => {
    const groups = new Map<string, { quota: GpuQuota; users: QuotaUser[] }>();
    for (const user of users) {
      const quota = gpuQuotaOf(user.instanceType, capacity);
      groups.set(quota.code, { quota, users: [...(groups.get(quota.code)?.users ?? []), user] });
    }
    return [...groups.values()];
  };
  const need = (user: QuotaUser) => vcpus[user.instanceType] * user.instances;
  const totalOf = (sharing: readonly QuotaUser[]) => sharing.reduce((sum, user) => sum + need(user), 0);
  // The other capacity's quota is no check, only worth knowing before switching spot on or off.
  const other: Lifecycle = config.spot ? 'on-demand' : 'spot';
  const otherQuotas = Promise.all(byQuota(other).map(async ({ quota, users: sharing }): Promise<CheckResult | undefined> => {
    const value = await readGpuQuota(clients, quota).catch(() => undefined);
    if (value === undefined) return undefined;
    const total = totalOf(sharing);
    return {
      id: `gpu-quota-${quota.code}`, title: `GPU quota, ${other}`, status: 'info',
      summary: `"${quota.name}" (${quota.code}) is ${value} vCPUs in ${region}; -c spot=${!config.spot} would need ${total}${value >= total ? ': room for it' : ''}`,
    };
  }));
  const checks = await Promise.all(byQuota(lifecycle).map(async ({ quota, users: sharing }) => {
    const id = `gpu-quota-${quota.code}`;
    let value: number;
    try {
      value = await readGpuQuota(clients, quota);
    } catch (error) {
      return couldNotLook(id, title, `"${quota.name}"`, error, 'servicequotas:GetServiceQuota');
    }
    const total = totalOf(sharing);
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
  return [...checks, ...(await otherQuotas).filter((c): c is CheckResult => c !== undefined)];
}
