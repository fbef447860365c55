import { Command } from 'commander';
import { npmUsage } from '../../trainer/src/cli/npm-usage';
import { kebab, TrainConfigSchema } from '../../trainer/src/config';
import { typedOptions } from '../../trainer/src/cli/schema-options';
import { expandGrid, type SweepCell } from '../../trainer/src/sweep/grid';
import { addGridOptions, gridFromOptions } from '../../trainer/src/sweep/grid-options';
import { planSweep, SWEEP_ID_PATTERN, type SweepPlan } from '../../trainer/src/sweep/plan';
import { UserError } from '../../trainer/src/user-error';
import { stackNames } from '../names';
import { parseCloudTrainOptions, trainerArgs } from '../run-options';
import { type SweepExecutionInput, sweepCellCommand, sweepCheckpointUri, sweepJobName, sweepUri } from '../sweep-commands';
import type { AwsClients, LauncherDeps } from './aws-clients';
import { assertAwake } from './environment-power';
import { checkLaunchQuota } from './gpu-quota';
import {
  executionArn, executionConsoleUrl, findSweepStack, launchSweep, stopSweep, sweepStatus, type SweepStack, type SweepStatus,
} from './sweep-control';

interface LauncherFlags {
  readonly cloud?: boolean;
  readonly env: string;
  readonly region?: string;
  readonly dryRun?: boolean;
  readonly status?: string;
  readonly stop?: string;
}

/**
 * `npm run sweep -- --cloud <grid>`: every cell of the grid trained on AWS Batch GPU capacity at
 * once (as far as the environment's instance ceiling allows), then compared in MLflow. Also
 * `--status <sweep-id>` and `--stop <sweep-id>`. Every cell is validated as a cloud run before
 * anything is sent; `--dry-run` prints what would be submitted and needs no AWS at all.
 */
export function sweepCloudCommand(deps: LauncherDeps): Command {
  const command = new Command('sweep')
    .description('train every cell of a grid of training options in parallel on AWS Batch GPU instances and compare them in MLflow')
    .configureHelp({ commandUsage: npmUsage })
    .option('--cloud', 'run the sweep on AWS (without it, `npm run sweep` trains the cells one after another on this machine)')
    .option('--env <name>', 'environment, as deployed with -c env=<name>', 'dev')
    .option('--region <region>', 'AWS region of the stacks (default: the AWS profile\'s)')
    .option('--dry-run', 'print the array job the sweep would submit, and stop; needs no AWS access')
    .option('--status <sweep-id>', 'show where a sweep stands: its steps, its cells by state, the failed ones and why')
    .option('--stop <sweep-id>', 'stop a sweep: running cells checkpoint and stop, waiting ones are cancelled, the finished ones are compared')
    .showHelpAfterError();
  addGridOptions(command);
  command.action(async () => {
    const flags = command.opts<LauncherFlags>();
    const lookup = flags.status ?? flags.stop;
    if (lookup !== undefined) {
      if (flags.status !== undefined && flags.stop !== undefined) throw new UserError('use one of --status and --stop at a time');
      const extra = [...Object.keys(typedOptions(command, TrainConfigSchema)), ...['preset', 'grid', 'models', 'seeds', 'dryRun'].filter((k) => command.opts()[k] !== undefined)];
      if (extra.length) throw new UserError(`--${flags.status !== undefined ? 'status' : 'stop'} takes a sweep id only; leave out ${extra.map((k) => `--${kebab(k)}`).join(', ')}`);
      if (!SWEEP_ID_PATTERN.test(lookup)) throw new UserError(`${lookup}: not a sweep id (sweep-YYYYMMDD-HHMMSS-xxxx, as printed when the sweep started)`);
      const clients = deps.clients(flags.region);
      const stack = await findSweepStack(clients, flags.env);
      return flags.status !== undefined ? showStatus(clients, stack, lookup, deps.print) : stop(clients, stack, lookup, deps.print);
    }
    if (!flags.cloud) throw new UserError('give --cloud to run the sweep on AWS');

    // Everything is checked before AWS is asked anything: the grid, each cell with the trainer's
    // schema, then each cell as a cloud run.
    const cells = expandGrid(gridFromOptions(command));
    checkCloudCells(cells);
    const now = deps.now();
    const plan = planSweep(cells, now);
    if (flags.dryRun) return printDryRun(plan, flags.env, deps.print);

    const clients = deps.clients(flags.region);
    const stack = await findSweepStack(clients, flags.env);
    await assertAwake(clients, flags.env, 'the sweep');
    if (stack.gpu) await checkLaunchQuota(clients, stack.gpu, Math.min(plan.cells.length, stack.gpu.maxInstances), 'the sweep', deps.print);
    const arn = await launchSweep(clients, stack, plan);
    const { print } = deps;
    print(`sweep ${plan.sweepId} started in ${stack.envName}: ${plan.cells.length} cell${plan.cells.length === 1 ? '' : 's'}, one GPU each`);
    print(`plan: ${sweepUri(stack.bucket, plan.sweepId)}plan.json`);
    print('MLflow parent run: created by the first step, in a few minutes (--status shows it); each cell is a child run of it');
    print(`console: ${executionConsoleUrl(arn)}`);
    print(`logs: aws logs tail ${stack.logGroup} --follow`);
    print(`status: npm run sweep -- --env ${stack.envName} --status ${plan.sweepId}`);
    print(`stop: npm run sweep -- --env ${stack.envName} --stop ${plan.sweepId}`);
    return undefined;
  });
  return command;
}

/** Each cell as a cloud run: laptop-only options are refused with the reason, once when every cell shares the problem. */
function checkCloudCells(cells: readonly SweepCell[]): void {
  const byProblem = new Map<string, string[]>();
  for (const cell of cells) {
    try {
      parseCloudTrainOptions({ ...cell.options }, (key) => `--${kebab(key)}`);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      for (const line of error.message.split('\n').slice(1)) {
        const problem = line.trim();
        byProblem.set(problem, [...(byProblem.get(problem) ?? []), `cell ${cell.index + 1} (${cell.name})`]);
      }
    }
  }
  if (!byProblem.size) return;
  const lines = [...byProblem].map(([problem, where]) => (where.length === cells.length ? problem : `${where.join(', ')}: ${problem}`));
  throw new UserError(`the sweep cannot run in the cloud:\n${lines.map((line) => `  ${line}`).join('\n')}`);
}

function printDryRun(plan: SweepPlan, envName: string, print: (line: string) => void): void {
  const bucket = `<bucket of ${stackNames(envName).training}>`;
  const input: SweepExecutionInput = { sweepId: plan.sweepId, cells: plan.cells.length };
  const array = plan.cells.length > 1;
  print(`dry run: sweep ${plan.sweepId} in ${envName}, ${plan.cells.length} cell${array ? 's' : ''}; nothing is sent to AWS`);
  print(`1. the plan goes to ${sweepUri(bucket, plan.sweepId)}plan.json`);
  print(`2. the sweep state machine starts, execution ${plan.sweepId}, input ${JSON.stringify(input)}`);
  print(`3. job ${sweepJobName(plan.sweepId, 'start')}: sweep-start --plan ${sweepUri(bucket, plan.sweepId)} (the MLflow parent run)`);
  print(array
    ? `4. array job ${sweepJobName(plan.sweepId, 'cells')}, size ${plan.cells.length}, one GPU per child; child N trains cell N:`
    : `4. job ${sweepJobName(plan.sweepId, 'cells')}, one GPU, trains the only cell:`);
  const command = sweepCellCommand(bucket, sweepUri(bucket, plan.sweepId), sweepCheckpointUri(bucket, plan.sweepId));
  print(`   ${[...command, ...(array ? [] : ['--index', '0'])].join(' ')}`);
  const width = Math.max(...plan.cells.map((cell) => cell.name.length));
  for (const cell of plan.cells) {
    print(`   [${cell.index}] ${cell.name.padEnd(width)}  ${trainerArgs(cell.options).join(' ') || '(defaults)'}`);
  }
  print(`5. job ${sweepJobName(plan.sweepId, 'finish')}: sweep-finish --plan ${sweepUri(bucket, plan.sweepId)} (the comparison; also after failed cells)`);
}

async function showStatus(clients: AwsClients, stack: SweepStack, sweepId: string, print: (line: string) => void): Promise<void> {
  const status = await sweepStatus(clients, stack, sweepId);
  const { execution } = status;
  const when = execution.stopDate ? `, ended ${execution.stopDate.toISOString()}` : execution.startDate ? `, started ${execution.startDate.toISOString()}` : '';
  print(`sweep ${sweepId} in ${stack.envName}: ${execution.status}${when}${execution.error ? ` (${execution.error}: ${execution.cause ?? ''})` : ''}`);
  print(`MLflow parent run: ${status.parent?.runId ?? (status.start?.status === 'SUCCEEDED' ? 'none (sweep-start ran without MLflow)' : 'not created yet')}`);
  print(`start:  ${describeJob(status.start)}`);
  print(`cells:  ${status.cells ? `${status.plan?.cells.length ?? '?'} in all; ${countsLine(status.cells.counts)}` : 'not submitted yet'}`);
  for (const cell of status.failedCells) {
    const name = status.plan?.cells[cell.index]?.name ?? `cell ${cell.index + 1}`;
    print(`        [${cell.index}] ${name}: ${describeJob(cell)}${cell.logStream ? `; log: aws logs tail ${stack.logGroup} --log-stream-names ${cell.logStream}` : ''}`);
  }
  print(`finish: ${describeJob(status.finish)}`);
  print(`console: ${executionConsoleUrl(executionArn(stack.stateMachineArn, sweepId))}`);
}

async function stop(clients: AwsClients, stack: SweepStack, sweepId: string, print: (line: string) => void): Promise<void> {
  const outcome = await stopSweep(clients, stack, sweepId);
  if (outcome.alreadyEnded) {
    print(`sweep ${sweepId} has ended already (${outcome.alreadyEnded}); nothing to stop`);
  } else if (outcome.stoppedCells) {
    print(`stopping sweep ${sweepId}: ${outcome.terminated} running cell${outcome.terminated === 1 ? '' : 's'} checkpoint and stop, waiting cells are cancelled;`);
    print('sweep-finish then compares the cells that finished (--status follows it)');
  } else {
    print(`stopped sweep ${sweepId} (no cells were training)`);
  }
}

function describeJob(job: SweepStatus['start'] | undefined): string {
  if (!job) return 'not submitted yet';
  const exit = job.exitCode !== undefined ? `, exit code ${job.exitCode}` : '';
  return `${job.status}${exit}${job.statusReason ? ` (${job.statusReason})` : ''}`;
}

/** Batch job states, ended ones first. */
const STATE_ORDER = ['SUCCEEDED', 'FAILED', 'RUNNING', 'STARTING', 'RUNNABLE', 'PENDING', 'SUBMITTED'];

function countsLine(counts: Readonly<Record<string, number>>): string {
  const rank = (state: string) => (STATE_ORDER.includes(state) ? STATE_ORDER.indexOf(state) : STATE_ORDER.length);
  const states = Object.keys(counts).filter((state) => counts[state] > 0).sort((a, b) => rank(a) - rank(b));
  return states.map((state) => `${counts[state]} ${state.toLowerCase()}`).join(', ') || 'none started yet';
}
