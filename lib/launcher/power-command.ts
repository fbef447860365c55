import { Command } from 'commander';
import { npmUsage } from '../../trainer/src/cli/npm-usage';
import { findEnvironment, sleepEnvironment, wakeEnvironment, type WakeOptions } from './environment-power';
import type { AwsClients } from './aws-clients';

export interface PowerDeps extends WakeOptions {
  readonly clients: (region?: string) => AwsClients;
  readonly print: (line: string) => void;
}

/** `npm run cloud:sleep` and `npm run cloud:wake`: one command each, same options. */
export function powerCommand(action: 'sleep' | 'wake', deps: PowerDeps): Command {
  const command = new Command(`cloud:${action}`)
    .description(action === 'sleep'
      ? 'stop the MLflow service, the model server and the database of an environment between working days (what still costs: docs/cloud.md)'
      : 'start the database, then MLflow and the model server, of an environment put to sleep')
    .option('--env <name>', 'environment, as deployed with -c env=<name>', 'dev')
    .option('--region <region>', 'AWS region of the stacks (default: the AWS profile\'s)')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ commandUsage: npmUsage });
  command.action(async () => {
    const { env: envName, region } = command.opts<{ env: string; region?: string }>();
    const clients = deps.clients(region);
    const env = await findEnvironment(clients, envName);
    if (action === 'sleep') await sleepEnvironment(clients, env, deps.print);
    else await wakeEnvironment(clients, env, deps.print, deps);
  });
  return command;
}
