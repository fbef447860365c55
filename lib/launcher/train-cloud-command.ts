import { Command } from 'commander';
import { kebab } from '../../trainer/src/config';
import { npmUsage } from '../../trainer/src/cli/npm-usage';
import { UserError } from '../../trainer/src/user-error';
import { addSchemaOptions, typedOptions } from '../../trainer/src/cli/schema-options';
import { CloudTrainOptionsSchema, LocalOnlyOptionsSchema, parseCloudTrainOptions, trainerArgs } from '../run-options';
import { newRunId, RUN_ID_PATTERN, type RunRequest } from '../run-parameter';
import type { AwsClients, LauncherDeps } from './aws-clients';
import { assertAwake } from './environment-power';
import { checkLaunchQuota } from './gpu-quota';
import {
  currentRunRequest, findTrainerStack, groupState, lastOutcome, startRun, stopRun, type TrainerStack,
} from './trainer-control';

interface LauncherFlags {
  readonly env: string;
  readonly region?: string;
  readonly resume?: string;
  readonly status?: boolean;
  readonly stop?: boolean;
}

/**
 * `npm run train:cloud -- [options]`: starts a training run on an environment's GPU instance
 * without a redeploy, shows where it stands, or stops it. Training options are the trainer's own
 * (same flags as `npm run train`), validated here before anything is sent.
 */
export function trainCloudCommand(deps: LauncherDeps): Command {
  const command = new Command('train:cloud')
    .description('start a training run on the GPU instance of a deployed environment, show its status, or stop it')
    .option('--env <name>', 'environment, as deployed with -c env=<name>', 'dev')
    .option('--region <region>', 'AWS region of the stacks (default: the AWS profile\'s)')
    .option('--resume <run-id>', 'continue a stopped or timed-out run from its last checkpoint')
    .option('--status', 'show the current run request, the instance and the last outcome')
    .option('--stop', 'stop the current run; the trainer writes a checkpoint first')
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ commandUsage: npmUsage });
  addSchemaOptions(command, CloudTrainOptionsSchema);
  // The laptop-only flags are accepted here only to be refused with the reason (hidden from --help).
  addSchemaOptions(command, LocalOnlyOptionsSchema, { hidden: true });
  command.action(async () => {
    const flags = command.opts<LauncherFlags>();
    if ([flags.status, flags.stop, flags.resume !== undefined].filter(Boolean).length > 1) {
      throw new UserError('use one of --status, --stop and --resume at a time');
    }
    // Options are checked before anything is asked of AWS.
    const given = { ...typedOptions(command, LocalOnlyOptionsSchema), ...typedOptions(command, CloudTrainOptionsSchema) };
    const options = parseCloudTrainOptions(given, (key) => `--${kebab(key)}`);
    const clients = deps.clients(flags.region);
    const stack = await findTrainerStack(clients, flags.env);
    if (flags.status) return showStatus(clients, stack, deps.print);
    if (flags.stop) {
      await stopRun(clients, stack);
      deps.print(`stopping the run in ${stack.envName}: the instance checkpoints and terminates; a later --resume continues it`);
      return undefined;
    }
    await assertAwake(clients, flags.env, 'the run');
    if (stack.gpu) await checkLaunchQuota(clients, stack.gpu, 1, 'the run', deps.print);
    const request = flags.resume !== undefined
      ? await resumeRequest(clients, stack, flags.resume, Object.keys(options).length ? trainerArgs(options) : undefined)
      : { runId: newRunId(options.model ?? 'compact', deps.now()), args: trainerArgs(options) };
    await startRun(clients, stack, request);
    deps.print(`run ${request.runId} requested in ${stack.envName}; trainer arguments: ${request.args.join(' ') || '(defaults)'}`);
    deps.print('the GPU instance boots in a few minutes and shuts itself down when the run ends; follow it with:');
    deps.print(`  aws logs tail ${stack.logGroup} --follow --log-stream-name-prefix ${request.runId}/`);
    deps.print(`  npm run train:cloud -- --env ${stack.envName} --status`);
    return undefined;
  });
  return command;
}

/** The same run id again; without new options, the arguments it was started with. */
async function resumeRequest(clients: AwsClients, stack: TrainerStack, runId: string, args: string[] | undefined): Promise<RunRequest> {
  if (!RUN_ID_PATTERN.test(runId)) throw new UserError(`--resume ${runId}: not a run id (lower-case letters, digits, dashes)`);
  if (args) return { runId, args };
  const last = await currentRunRequest(clients, stack);
  if (last.runId !== runId) {
    throw new UserError(`--resume ${runId}: the last run request was ${last.runId}; pass the options ${runId} was started with again`);
  }
  return last;
}

async function showStatus(clients: AwsClients, stack: TrainerStack, print: (line: string) => void): Promise<void> {
  const [state, request, outcome] = await Promise.all([groupState(clients, stack), currentRunRequest(clients, stack), lastOutcome(clients, stack)]);
  const instances = state.instances.map((i) => `${i.id} (${i.state})`).join(', ');
  print(`environment ${stack.envName}: ${state.desired > 0 ? 'a run is on' : 'idle'}${instances ? `; instance ${instances}` : ''}`);
  print(`run request: ${request.runId} ${request.args.join(' ')}`.trimEnd());
  print(`last outcome: ${outcome}`);
  print(`logs: aws logs tail ${stack.logGroup} --follow --log-stream-name-prefix ${request.runId}/`);
}
