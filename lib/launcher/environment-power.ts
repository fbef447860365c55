import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand, StartDBInstanceCommand, StopDBInstanceCommand, waitUntilDBInstanceAvailable } from '@aws-sdk/client-rds';
import { UserError } from '../../trainer/src/user-error';
import { stackNames, SWEEP_OUTPUTS, TRACKING_OUTPUTS } from '../names';
import { type AwsClients, stackOutputs, trainingStackOutputs } from './aws-clients';
import { type SweepStack, sweepActivity, sweepStackFrom } from './sweep-control';
import { groupState, type TrainerStack, trainerStackFrom } from './trainer-control';

/**
 * Stopping what costs money by the hour while nobody works (the MLflow task, the model server and
 * the database) and starting it again. What stays: the load balancers, storage, secrets; see the
 * cost section of docs/cloud.md. RDS starts a stopped database by itself after seven days.
 */
export interface Environment {
  readonly envName: string;
  readonly cluster: string;
  readonly mlflowService: string;
  readonly database: string;
  readonly trainer: TrainerStack;
  /** Missing from a deployment older than sweeps. */
  readonly sweeps?: SweepStack;
}

export async function findEnvironment(clients: AwsClients, envName: string): Promise<Environment> {
  const tracking = await stackOutputs(clients, stackNames(envName).tracking, envName);
  const training = await trainingStackOutputs(clients, envName);
  return {
    envName,
    cluster: tracking.output(TRACKING_OUTPUTS.cluster),
    mlflowService: tracking.output(TRACKING_OUTPUTS.service),
    database: tracking.output(TRACKING_OUTPUTS.database),
    trainer: trainerStackFrom(training),
    ...(training.has(SWEEP_OUTPUTS.stateMachine) ? { sweeps: sweepStackFrom(training) } : {}),
  };
}

/** True when MLflow is stopped (`cloud:sleep`); undefined for a deployment older than the sleep outputs. */
export async function mlflowAsleep(clients: AwsClients, envName: string): Promise<boolean | undefined> {
  const tracking = await stackOutputs(clients, stackNames(envName).tracking, envName);
  if (!tracking.has(TRACKING_OUTPUTS.service)) return undefined;
  const response = await clients.ecs.send(new DescribeServicesCommand({
    cluster: tracking.output(TRACKING_OUTPUTS.cluster), services: [tracking.output(TRACKING_OUTPUTS.service)],
  }));
  return (response.services?.[0]?.desiredCount ?? 1) === 0;
}

/** Refuses to start `what` (a run, a sweep) while MLflow sleeps: it would have nowhere to log. */
export async function assertAwake(clients: AwsClients, envName: string, what: string): Promise<void> {
  if (await mlflowAsleep(clients, envName)) {
    throw new UserError(`MLflow in ${envName} is asleep, and ${what} would have nowhere to log: npm run cloud:wake -- --env ${envName} first`);
  }
}

const services = (env: Environment): string[] => [env.mlflowService, ...(env.trainer.modelServerService ? [env.trainer.modelServerService] : [])];

async function databaseStatus(clients: AwsClients, env: Environment): Promise<string> {
  const response = await clients.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: env.database }));
  return response.DBInstances?.[0]?.DBInstanceStatus ?? 'unknown';
}

export async function sleepEnvironment(clients: AwsClients, env: Environment, print: (line: string) => void): Promise<void> {
  const group = await groupState(clients, env.trainer);
  if (group.desired > 0 || group.instances.length > 0) {
    throw new UserError(`a training run is going in ${env.envName} and logs to MLflow: let it finish, or stop it first (npm run train:cloud -- --env ${env.envName} --stop)`);
  }
  if (env.sweeps) await assertNoSweep(clients, env.envName, env.sweeps);
  for (const service of services(env)) {
    await clients.ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service, desiredCount: 0 }));
    print(`stopped ECS service ${service}`);
  }
  const status = await databaseStatus(clients, env);
  if (status === 'available') {
    await clients.rds.send(new StopDBInstanceCommand({ DBInstanceIdentifier: env.database }));
    print(`stopping database ${env.database} (RDS starts it again by itself after 7 days)`);
  } else {
    print(`database ${env.database} is ${status}; left as it is`);
  }
  print(`${env.envName} is asleep; wake it with: npm run cloud:wake -- --env ${env.envName}`);
}

async function assertNoSweep(clients: AwsClients, envName: string, sweeps: SweepStack): Promise<void> {
  const activity = await sweepActivity(clients, sweeps);
  const [sweepId] = activity.sweepIds;
  if (sweepId) {
    const others = activity.sweepIds.length > 1 ? ` (and ${activity.sweepIds.length - 1} more)` : '';
    throw new UserError(`sweep ${sweepId}${others} is running in ${envName} and logs to MLflow: let it finish `
      + `(npm run sweep -- --env ${envName} --status ${sweepId}), or stop it first (npm run sweep -- --env ${envName} --stop ${sweepId})`);
  }
  if (activity.runningJobs) {
    throw new UserError(`${activity.runningJobs} Batch job${activity.runningJobs === 1 ? ' is' : 's are'} running in the sweep queue of ${envName} and log to MLflow: `
      + `let them finish, or terminate them (aws batch list-jobs --job-queue ${sweeps.jobQueueArn} --job-status RUNNING)`);
  }
}

export interface WakeOptions {
  /** Waits until the database answers; the SDK's waiter by default. */
  readonly waitForDatabase?: (clients: AwsClients, identifier: string) => Promise<void>;
}

export async function wakeEnvironment(clients: AwsClients, env: Environment, print: (line: string) => void, options: WakeOptions = {}): Promise<void> {
  const status = await databaseStatus(clients, env);
  if (status === 'stopped') {
    await clients.rds.send(new StartDBInstanceCommand({ DBInstanceIdentifier: env.database }));
    print(`starting database ${env.database}; this takes about 5 to 10 minutes`);
  } else if (status === 'stopping') {
    throw new UserError(`database ${env.database} is still stopping; wake the environment once it has stopped (a minute or two)`);
  }
  // MLflow only starts cleanly once its database answers.
  const wait = options.waitForDatabase ?? (async (c, id) => {
    await waitUntilDBInstanceAvailable({ client: c.rds, maxWaitTime: 1800, minDelay: 20 }, { DBInstanceIdentifier: id });
  });
  await wait(clients, env.database);
  print(`database ${env.database} is available`);
  for (const service of services(env)) {
    await clients.ecs.send(new UpdateServiceCommand({ cluster: env.cluster, service, desiredCount: 1 }));
    print(`started ECS service ${service}`);
  }
  print(`${env.envName} is waking up: MLflow answers in 2 to 3 minutes`);
}
