import { Command } from 'commander';
import { npmUsage } from '../../../trainer/src/cli/npm-usage';
import { READ_ONLY_NOTICE, renderReport } from './check-result';
import { type ContextSources, deployContext } from './deploy-context';
import { type CloudCheckDeps, runCloudCheck } from './run-checks';

export interface CloudCheckCommandDeps extends CloudCheckDeps {
  readonly print: (line: string) => void;
  /** 0 when a deploy can go ahead, 1 when a check failed. */
  readonly setExitCode: (code: number) => void;
  /** Where cdk.json, cdk.context.json and ~/.cdk.json are. @default the project root and the home folder */
  readonly contextSources?: ContextSources;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * `npm run cloud:check [-- -c key=value ... | --env NAME]`: before a first deploy, everything it
 * could fail on that read-only calls can tell, each with a pass or fail line and the fix.
 */
export function cloudCheckCommand(deps: CloudCheckCommandDeps): Command {
  const command = new Command('cloud:check')
    .description('check, read-only, that cdk deploy can go ahead: credentials, GPU quotas, instance types, CDK bootstrap, the trainer AMI, '
      + 'your permissions, the images; and what the environment costs. Exit 0 when it can, 1 with the fixes when it cannot')
    .option('-c, --context <key=value>', 'context, as for cdk deploy (repeatable)', collect, [])
    .option('--env <name>', 'environment, the same as -c env=<name>')
    .option('--region <region>', 'AWS region (default: as cdk deploy: AWS_REGION, your AWS profile\'s, else us-east-1)')
    .option('--json', 'print the report as JSON (for CI)')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ commandUsage: npmUsage });
  command.action(async () => {
    const flags = command.opts<{ context: string[]; env?: string; region?: string; json?: boolean }>();
    const context = deployContext(flags.context, flags.env, deps.contextSources);
    const result = await runCloudCheck(context, flags.region, deps, (where) => {
      if (!flags.json) deps.print(`cloud:check of env ${where.envName} in account ${where.account}, ${where.region}; ${READ_ONLY_NOTICE}`);
    });
    if (flags.json) {
      deps.print(JSON.stringify(result, null, 2));
    } else if (result.checks.length === 1) {
      // No credentials (or no AWS): nothing else was looked at, and one line says so.
      deps.print(`cloud:check: ${result.checks[0].summary}`);
    } else {
      for (const line of renderReport(result)) deps.print(line);
    }
    deps.setExitCode(result.ok ? 0 : 1);
  });
  return command;
}
