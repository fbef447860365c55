import { DescribeAvailabilityZonesCommand, DescribeInstanceTypeOfferingsCommand } from '@aws-sdk/client-ec2';
import type { DeploymentConfig } from '../../config';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { couldNotLook } from './aws-errors';
import { availabilityZonesKey } from './deploy-context';

/** lib/network.ts: the VPC spans this many zones. */
const VPC_ZONES = 2;

/**
 * The zones the VPC will use: CDK takes the first two of the zones it recorded in
 * cdk.context.json, or of those DescribeAvailabilityZones lists as available (what its lookup at
 * deploy time will record).
 */
export async function vpcZones(clients: AwsClients, context: Record<string, unknown>, account: string, region: string): Promise<{ zones: string[]; recorded: boolean }> {
  const recorded = context[availabilityZonesKey(account, region)];
  if (Array.isArray(recorded)) return { zones: recorded.slice(0, VPC_ZONES).map(String), recorded: true };
  const response = await clients.ec2.send(new DescribeAvailabilityZonesCommand({}));
  const zones = (response.AvailabilityZones ?? []).filter((z) => z.State === 'available').map((z) => z.ZoneName ?? '?');
  return { zones: zones.slice(0, VPC_ZONES), recorded: false };
}

async function offeredZones(clients: AwsClients, instanceTypes: readonly string[]): Promise<Map<string, string[]>> {
  const zones = new Map<string, string[]>(instanceTypes.map((t) => [t, []]));
  let NextToken: string | undefined;
  do {
    const page = await clients.ec2.send(new DescribeInstanceTypeOfferingsCommand({
      LocationType: 'availability-zone', Filters: [{ Name: 'instance-type', Values: [...instanceTypes] }], ...(NextToken ? { NextToken } : {}),
    }));
    for (const offer of page.InstanceTypeOfferings ?? []) zones.get(offer.InstanceType ?? '')?.push(offer.Location ?? '?');
    NextToken = page.NextToken;
  } while (NextToken);
  for (const list of zones.values()) list.sort();
  return zones;
}

/** The context keys that chose a type, by who uses it. */
const keysOf = (who: readonly string[]) => who.map((w) => (w === 'the trainer' ? 'instanceType' : 'sweepInstanceType'));

/** Each instance type the stacks launch, offered in the region, and in a zone of the VPC. */
export async function checkOfferings(clients: AwsClients, config: DeploymentConfig, context: Record<string, unknown>, account: string, region: string): Promise<CheckResult[]> {
  const users = new Map<string, string[]>();
  users.set(config.instanceType, ['the trainer']);
  users.set(config.sweepInstanceType, [...(users.get(config.sweepInstanceType) ?? []), 'sweeps']);
  let vpc: { zones: string[]; recorded: boolean };
  let offered: Map<string, string[]>;
  try {
    [vpc, offered] = await Promise.all([vpcZones(clients, context, account, region), offeredZones(clients, [...users.keys()])]);
  } catch (error) {
    return [couldNotLook('instance-types', 'instance types', 'the instance type offerings', error, 'ec2:DescribeInstanceTypeOfferings and ec2:DescribeAvailabilityZones')];
  }
  return [...users].map(([type, who]): CheckResult => {
    const id = `offered-${type}`;
    const title = `${type} offered`;
    const zones = offered.get(type) ?? [];
    const inVpc = zones.filter((z) => vpc.zones.includes(z));
    const forWhom = `for ${who.join(' and ')}`;
    const vpcWords = `the VPC's zones ${vpc.zones.join(', ')}${vpc.recorded ? ' (recorded in cdk.context.json)' : ''}`;
    if (!zones.length) {
      return {
        id, title, status: 'fail', summary: `${type} (${forWhom}) is not offered in ${region} at all`,
        fix: [
          `choose another type (${keysOf(who).map((key) => `-c ${key}=<type>`).join(' ')}), or a region that offers it; the regions that do:`,
          `for r in $(aws ec2 describe-regions --query 'Regions[].RegionName' --output text); do aws ec2 describe-instance-type-offerings --region $r --filters Name=instance-type,Values=${type} --query 'InstanceTypeOfferings[].Location' --output text; done`,
        ],
      };
    }
    if (!inVpc.length) {
      return {
        id, title, status: 'fail', summary: `${type} (${forWhom}) is offered in ${zones.join(', ')}, none of ${vpcWords}`,
        fix: [
          `before the first deploy: list a zone that offers it first in cdk.context.json, e.g. "${availabilityZonesKey(account, region)}": ${JSON.stringify([...zones.slice(0, 1), ...vpc.zones].slice(0, 3))}`,
          'once the VPC exists its zones stay: choose an instance type these zones offer',
        ],
      };
    }
    const one = inVpc.length < vpc.zones.length ? `; only ${inVpc.join(', ')} of the VPC's zones, where the instances will go` : `; the VPC's zones ${vpc.zones.join(', ')} both offer it`;
    return { id, title, status: 'pass', summary: `${forWhom}: in ${zones.length} zone${zones.length === 1 ? '' : 's'} of ${region}${one}` };
  });
}
