import type { DeploymentConfig } from './config';

/**
 * What an environment costs a month while nobody trains, in us-east-1 list prices: the table of
 * docs/cloud.md ("While nobody trains", "Sleeping between working days"), which a test keeps
 * equal to these figures. Other regions differ by up to about a third.
 */
export const IDLE_USD_PER_MONTH = {
  /** MLflow on Fargate, the internal load balancer, RDS, storage, secrets, a public IPv4 address. */
  environment: 73,
  /** allowedCidrs: the public load balancer and its two IPv4 addresses. */
  publicAccess: 23.8,
  /** serve: the model server on Fargate, its IPv4 address, its token's secret. */
  modelServer: 46.6,
} as const;

/** What `npm run cloud:sleep` saves a month, asleep outside 10 working hours on 5 days (50 of 168 hours awake). */
export const SLEEP_SAVES_USD_PER_MONTH = { environment: 36.1, modelServer: 32.3 } as const;

export interface IdleCost {
  readonly awake: number;
  readonly sleepingNights: number;
}

/** A month of `config`'s environment with no training, always awake and put to sleep outside working hours. */
export function idleCost(config: Pick<DeploymentConfig, 'allowedCidrs' | 'serve'>): IdleCost {
  const awake = IDLE_USD_PER_MONTH.environment
    + (config.allowedCidrs.length ? IDLE_USD_PER_MONTH.publicAccess : 0)
    + (config.serve ? IDLE_USD_PER_MONTH.modelServer : 0);
  const saved = SLEEP_SAVES_USD_PER_MONTH.environment + (config.serve ? SLEEP_SAVES_USD_PER_MONTH.modelServer : 0);
  return { awake, sleepingNights: awake - saved };
}
