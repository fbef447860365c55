import type { DeploymentConfig } from '../../config';
import { idleCost } from '../../idle-costs';
import { hourlyPrice, pricedRegions, PRICES_AS_OF } from '../../../trainer/src/cloud/prices';
import type { CheckResult } from './check-result';

const usd = (value: number) => `$${value.toFixed(2)}`;

/** An hour of `instanceType` in `region`, from the price table; us-east-1's figure where the table lacks the region. */
function pricePerHour(instanceType: string, region: string, spot: boolean): { usd: number; where: string } | undefined {
  const lifecycle = spot ? 'spot' : 'on-demand';
  const here = hourlyPrice(instanceType, region, lifecycle);
  if (here) return { usd: here.usdPerHour, where: '' };
  const fallback = hourlyPrice(instanceType, 'us-east-1', lifecycle);
  return fallback && { usd: fallback.usdPerHour, where: ` (us-east-1's price: the table has ${Object.keys(pricedRegions()).join(', ')})` };
}

/** What the environment costs idle and per run, before anyone says yes: from lib/idle-costs.ts and trainer/src/cloud/prices.ts. */
export function costNotice(config: DeploymentConfig, region: string): CheckResult {
  const idle = idleCost(config);
  const kind = config.spot ? 'spot (typical) ' : '';
  const trainer = pricePerHour(config.instanceType, region, config.spot);
  const sweep = pricePerHour(config.sweepInstanceType, region, config.spot);
  const parts = [
    `idle about ${usd(idle.awake)} a month (us-east-1 prices; about ${usd(idle.sleepingNights)} with npm run cloud:sleep outside working hours)`,
    trainer
      ? `a run ${usd(trainer.usd)}/h on ${kind}${config.instanceType}${trainer.where}, at most ${usd((trainer.usd * config.maxRuntimeMinutes) / 60)} (maxRuntimeMinutes ${config.maxRuntimeMinutes})`
      : `a run on ${config.instanceType}: not in the price table (trainer/src/cloud/prices.ts)`,
    sweep
      ? `a sweep at most ${usd(sweep.usd * config.sweepMaxInstances)}/h (${config.sweepMaxInstances} × ${kind}${config.sweepInstanceType})`
      : `sweeps on ${config.sweepInstanceType}: not in the price table`,
  ];
  return { id: 'cost', title: 'cost', status: 'info', summary: `${parts.join('; ')}; list prices as of ${PRICES_AS_OF}` };
}
