/**
 * What an hour of a GPU instance costs, for the cost estimate every cloud run logs. One table,
 * with its date: update both together.
 *
 * On-demand: AWS's published Linux on-demand rates per instance-hour (aws.amazon.com/ec2/pricing/on-demand/),
 * as listed when this table was written; they were not re-checked from the machine this was
 * written on, which has no internet access.
 * Spot: a typical price, the on-demand rate less the family's usual saving as the Spot Instance
 * Advisor shows it (aws.amazon.com/ec2/spot/instance-advisor/). Spot prices move with supply and
 * demand; `aws ec2 describe-spot-price-history --instance-types g4dn.xlarge` gives the real ones.
 * The estimate is for comparing runs, not for reading a bill: it leaves out EBS, data transfer,
 * the instance's boot and the image pull before the trainer starts.
 */
export const PRICES_AS_OF = '2026-11-30';

/** US dollars per instance-hour, on demand. */
const ON_DEMAND_USD_PER_HOUR: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'us-east-1': {
    'g4dn.xlarge': 0.526, 'g4dn.2xlarge': 0.752, 'g4dn.4xlarge': 1.204, 'g4dn.8xlarge': 2.176, 'g4dn.12xlarge': 3.912, 'g4dn.16xlarge': 4.352,
    'g5.xlarge': 1.006, 'g5.2xlarge': 1.212, 'g5.4xlarge': 1.624, 'g5.8xlarge': 2.448, 'g5.12xlarge': 5.672, 'g5.16xlarge': 4.096,
    'g5.24xlarge': 8.144, 'g5.48xlarge': 16.288,
    'g6.xlarge': 0.8048, 'g6.2xlarge': 0.9776, 'g6.4xlarge': 1.3232, 'g6.8xlarge': 2.0144, 'g6.12xlarge': 4.6016, 'g6.16xlarge': 3.3968,
    'g6.24xlarge': 6.6752, 'g6.48xlarge': 13.3504,
    'p3.2xlarge': 3.06, 'p3.8xlarge': 12.24, 'p3.16xlarge': 24.48,
  },
  'eu-west-1': {
    'g4dn.xlarge': 0.587, 'g4dn.2xlarge': 0.838, 'g4dn.4xlarge': 1.342, 'g4dn.8xlarge': 2.426, 'g4dn.12xlarge': 4.362, 'g4dn.16xlarge': 4.853,
    'g5.xlarge': 1.123, 'g5.2xlarge': 1.353, 'g5.4xlarge': 1.813, 'g5.8xlarge': 2.733, 'g5.12xlarge': 6.332, 'g5.16xlarge': 4.573,
    'g5.24xlarge': 9.092, 'g5.48xlarge': 18.184,
    'p3.2xlarge': 3.305, 'p3.8xlarge': 13.22, 'p3.16xlarge': 26.44,
  },
};

/** The usual spot saving per family (the Spot Instance Advisor's ranges, middle of the range). */
const TYPICAL_SPOT_SAVING: Readonly<Record<string, number>> = { g4dn: 0.6, g5: 0.6, g6: 0.55, p3: 0.7 };

export type Lifecycle = 'spot' | 'on-demand';

export interface HourlyPrice {
  readonly usdPerHour: number;
  readonly lifecycle: Lifecycle;
  /** Where the figure comes from, for the run's tags. */
  readonly source: string;
}

/** The table's price of an hour of `instanceType` in `region`, or undefined when the table has none. */
export function hourlyPrice(instanceType: string, region: string, lifecycle: Lifecycle): HourlyPrice | undefined {
  const onDemand = ON_DEMAND_USD_PER_HOUR[region]?.[instanceType];
  if (onDemand === undefined) return undefined;
  if (lifecycle === 'on-demand') return { usdPerHour: onDemand, lifecycle, source: `on-demand list price, ${region}, as of ${PRICES_AS_OF}` };
  const saving = TYPICAL_SPOT_SAVING[instanceType.split('.')[0]];
  if (saving === undefined) return undefined;
  return {
    usdPerHour: Math.round(onDemand * (1 - saving) * 10_000) / 10_000,
    lifecycle,
    source: `typical spot price (${Math.round(saving * 100)}% under on-demand), ${region}, as of ${PRICES_AS_OF}`,
  };
}

/** The regions and types the table covers, for messages and tests. */
export function pricedRegions(): Readonly<Record<string, readonly string[]>> {
  return Object.fromEntries(Object.entries(ON_DEMAND_USD_PER_HOUR).map(([region, types]) => [region, Object.keys(types)]));
}
