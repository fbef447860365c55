import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../../trainer/src/user-error';

/** The folder of cdk.json and cdk.context.json. */
export const PROJECT_ROOT = path.join(__dirname, '../../..');

export interface ContextSources {
  /** Where cdk.json and cdk.context.json are. @default the project root */
  readonly root?: string;
  /** Where ~/.cdk.json is. @default the user's home folder */
  readonly home?: string;
}

function contextOf(file: string, key?: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  return ((key ? json[key] : json) ?? {}) as Record<string, unknown>;
}

/**
 * The context `cdk deploy` hands the app, with the CDK CLI's precedence: `-c key=value` over
 * cdk.json's "context", over cdk.context.json (the lookups it recorded), over ~/.cdk.json.
 * `--env NAME` is `-c env=NAME`, as the launchers spell it.
 */
export function deployContext(cliPairs: readonly string[], envName: string | undefined, sources: ContextSources = {}): Record<string, unknown> {
  const root = sources.root ?? PROJECT_ROOT;
  const cli: Record<string, unknown> = {};
  for (const pair of cliPairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UserError(`-c ${pair}: give key=value, as for cdk deploy (e.g. -c instanceType=g5.xlarge)`);
    cli[pair.slice(0, at)] = pair.slice(at + 1);
  }
  if (envName !== undefined) {
    if (cli.env !== undefined && cli.env !== envName) throw new UserError(`--env ${envName} and -c env=${String(cli.env)} disagree: give one of them`);
    cli.env = envName;
  }
  return {
    ...contextOf(path.join(sources.home ?? homedir(), '.cdk.json'), 'context'),
    ...contextOf(path.join(root, 'cdk.context.json')),
    ...contextOf(path.join(root, 'cdk.json'), 'context'),
    ...cli,
  };
}

/** The context key under which the CDK CLI records the availability zones it looked up. */
export const availabilityZonesKey = (account: string, region: string) => `availability-zones:account=${account}:region=${region}`;

/** The context key under which the CDK CLI records an SSM parameter it looked up (the trainer AMI). */
export const ssmParameterKey = (account: string, region: string, name: string) => `ssm:account=${account}:parameterName=${name}:region=${region}`;
