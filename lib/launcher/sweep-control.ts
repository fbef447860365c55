import { DescribeJobsCommand, type JobDetail, type JobSummary, ListJobsCommand, type ListJobsCommandInput, TerminateJobCommand } from '@aws-sdk/client-batch';
import { DescribeExecutionCommand, ListExecutionsCommand, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { sweepFolder, type SweepParent, type SweepPlan } from '../../trainer/src/sweep/plan';
import { UserError } from '../../trainer/src/user-error';
import { SWEEP_OUTPUTS } from '../names';
import { type SweepExecutionInput, sweepJobName, sweepUri } from '../sweep-commands';
import { type AwsClients, type StackOutputs, trainingStackOutputs } from './aws-clients';
import type { GpuCapacity } from './gpu-quota';
import { gpuCapacity } from './trainer-control';

/** Where one environment's sweeps run, from the training stack's outputs. */
export interface SweepStack {
  readonly envName: string;
  readonly stackName: string;
  readonly stateMachineArn: string;
  readonly jobQueueArn: string;
  readonly bucket: string;
  readonly logGroup: string;
  /** The compute environment's instances; missing from a deployment older than these outputs. */
  readonly gpu?: GpuCapacity & { readonly maxInstances: number };
}

export async function findSweepStack(clients: AwsClients, envName: string): Promise<SweepStack> {
  return sweepStackFrom(await trainingStackOutputs(clients, envName));
}

/** The sweeps' part of the training stack's outputs. */
export function sweepStackFrom(outputs: StackOutputs): SweepStack {
  const { envName, stackName, output } = outputs;
  return {
    envName,
    stackName,
    stateMachineArn: output(SWEEP_OUTPUTS.stateMachine),
    jobQueueArn: output(SWEEP_OUTPUTS.jobQueue),
    bucket: output(SWEEP_OUTPUTS.bucket),
    logGroup: output(SWEEP_OUTPUTS.logGroup),
    ...(outputs.has(SWEEP_OUTPUTS.instanceType) ? {
      gpu: { ...gpuCapacity(outputs, output(SWEEP_OUTPUTS.instanceType)), maxInstances: Number(output(SWEEP_OUTPUTS.maxInstances)) },
    } : {}),
  };
}

/** What of a sweep is going on now: running executions (one per sweep) and Batch jobs running in the queue. */
export interface SweepActivity {
  readonly sweepIds: readonly string[];
  readonly runningJobs: number;
}

/**
 * Whether sweeps are running: the state machine's running executions, and jobs running in the
 * queue (an execution stopped from the console can leave its job running until Batch ends it).
 */
export async function sweepActivity(clients: AwsClients, stack: SweepStack): Promise<SweepActivity> {
  const [executions, jobs] = await Promise.all([
    clients.stepFunctions.send(new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: 'RUNNING' })),
    listJobs(clients, { jobQueue: stack.jobQueueArn, jobStatus: 'RUNNING' }),
  ]);
  return { sweepIds: (executions.executions ?? []).map((e) => e.name ?? '?'), runningJobs: jobs.length };
}

/** Executions are named after their sweep, so the ARN follows from the state machine's. */
export function executionArn(stateMachineArn: string, sweepId: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${sweepId}`;
}

/** The execution's page in the Step Functions console (graph, events, each Batch job). */
export function executionConsoleUrl(arn: string): string {
  const region = arn.split(':')[3];
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${arn}`;
}

/** Writes the plan where the jobs read it, then starts the execution. Returns the execution's ARN. */
export async function launchSweep(clients: AwsClients, stack: SweepStack, plan: SweepPlan): Promise<string> {
  await sweepFolder(sweepUri(stack.bucket, plan.sweepId), clients.s3).writePlan(plan);
  const input: SweepExecutionInput = { sweepId: plan.sweepId, cells: plan.cells.length };
  const response = await clients.stepFunctions.send(new StartExecutionCommand({
    stateMachineArn: stack.stateMachineArn, name: plan.sweepId, input: JSON.stringify(input),
  }));
  return response.executionArn ?? executionArn(stack.stateMachineArn, plan.sweepId);
}

/** A Batch job of the sweep, as `--status` shows it. */
export interface SweepJob {
  readonly jobId: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly exitCode?: number;
  readonly logStream?: string;
}

export interface SweepStatus {
  readonly execution: { readonly status: string; readonly startDate?: Date; readonly stopDate?: Date; readonly error?: string; readonly cause?: string };
  readonly plan?: SweepPlan;
  readonly parent?: SweepParent;
  readonly start?: SweepJob;
  readonly finish?: SweepJob;
  /** The array job (or the one job of a single-cell sweep), with its children counted by state. */
  readonly cells?: SweepJob & { readonly counts: Readonly<Record<string, number>> };
  /** Children that failed, by array index. */
  readonly failedCells: ReadonlyArray<SweepJob & { readonly index: number }>;
}

export async function sweepStatus(clients: AwsClients, stack: SweepStack, sweepId: string): Promise<SweepStatus> {
  const execution = await describeExecution(clients, stack, sweepId);
  const folder = sweepFolder(sweepUri(stack.bucket, sweepId), clients.s3);
  const [plan, parent, jobs] = await Promise.all([
    folder.readPlan().catch((error: unknown) => (error instanceof UserError ? undefined : Promise.reject(error))),
    folder.readParent(),
    sweepJobs(clients, stack, sweepId),
  ]);
  const cellsJob = jobs.get(sweepJobName(sweepId, 'cells'));
  let cells: SweepStatus['cells'];
  let failedCells: SweepStatus['failedCells'] = [];
  if (cellsJob?.jobId) {
    const [described] = await describeJobs(clients, [cellsJob.jobId]);
    const summary = described?.arrayProperties?.statusSummary;
    cells = { ...toJob(cellsJob), counts: summary ?? { [cellsJob.status ?? 'UNKNOWN']: 1 } };
    const failed = summary
      ? (await listJobs(clients, { arrayJobId: cellsJob.jobId, jobStatus: 'FAILED' })).map((child) => child.jobId ?? '')
      : cellsJob.status === 'FAILED' ? [cellsJob.jobId] : [];
    failedCells = (await describeJobs(clients, failed))
      .map((child) => ({ ...toJob(child), index: child.arrayProperties?.index ?? 0 }))
      .sort((a, b) => a.index - b.index);
  }
  const start = jobs.get(sweepJobName(sweepId, 'start'));
  const finish = jobs.get(sweepJobName(sweepId, 'finish'));
  return {
    execution,
    ...(plan ? { plan } : {}),
    ...(parent ? { parent } : {}),
    ...(start ? { start: toJob(start) } : {}),
    ...(finish ? { finish: toJob(finish) } : {}),
    ...(cells ? { cells } : {}),
    failedCells,
  };
}

export interface StopOutcome {
  /** Children told to stop (they checkpoint after their current step). */
  readonly terminated: number;
  /** Whether the array job itself was stopped; the state machine then runs sweep-finish. */
  readonly stoppedCells: boolean;
  /** Whether the execution was stopped instead (no cells were running yet, or only sweep-finish was left). */
  readonly stoppedExecution: boolean;
  /** The execution had ended already. */
  readonly alreadyEnded?: string;
}

const ACTIVE = new Set(['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING']);

/**
 * Stops a sweep. While cells run, their Batch jobs are terminated (running children get SIGTERM,
 * checkpoint and stop; waiting ones are cancelled; Batch retries neither), so the state machine
 * goes on to sweep-finish and the comparison of the cells that finished. Before or after the
 * cells, the execution itself is stopped.
 */
export async function stopSweep(clients: AwsClients, stack: SweepStack, sweepId: string): Promise<StopOutcome> {
  const execution = await describeExecution(clients, stack, sweepId);
  if (execution.status !== 'RUNNING') return { terminated: 0, stoppedCells: false, stoppedExecution: false, alreadyEnded: execution.status };
  const reason = `stopped by npm run sweep -- --stop ${sweepId}`;
  const cellsJob = (await sweepJobs(clients, stack, sweepId)).get(sweepJobName(sweepId, 'cells'));
  if (cellsJob?.jobId && ACTIVE.has(cellsJob.status ?? '')) {
    // Terminating an array parent cancels the children that wait; the running ones are terminated one by one.
    const running = [
      ...(await listJobs(clients, { arrayJobId: cellsJob.jobId, jobStatus: 'RUNNING' })),
      ...(await listJobs(clients, { arrayJobId: cellsJob.jobId, jobStatus: 'STARTING' })),
    ];
    for (const child of running) await clients.batch.send(new TerminateJobCommand({ jobId: child.jobId, reason }));
    await clients.batch.send(new TerminateJobCommand({ jobId: cellsJob.jobId, reason }));
    return { terminated: running.length, stoppedCells: true, stoppedExecution: false };
  }
  await clients.stepFunctions.send(new StopExecutionCommand({ executionArn: executionArn(stack.stateMachineArn, sweepId), error: 'Stopped', cause: reason }));
  return { terminated: 0, stoppedCells: false, stoppedExecution: true };
}

async function describeExecution(clients: AwsClients, stack: SweepStack, sweepId: string): Promise<SweepStatus['execution']> {
  try {
    const response = await clients.stepFunctions.send(new DescribeExecutionCommand({ executionArn: executionArn(stack.stateMachineArn, sweepId) }));
    return {
      status: response.status ?? 'UNKNOWN',
      ...(response.startDate ? { startDate: response.startDate } : {}),
      ...(response.stopDate ? { stopDate: response.stopDate } : {}),
      ...(response.error ? { error: response.error } : {}),
      ...(response.cause ? { cause: response.cause } : {}),
    };
  } catch (error) {
    if ((error as { name?: string }).name === 'ExecutionDoesNotExist') {
      throw new UserError(`no sweep ${sweepId} in ${stack.envName} (${stack.stackName}): check the id and --env, or whether its history has expired (90 days)`);
    }
    throw error;
  }
}

/** The sweep's Batch jobs by name (start, cells, finish); the latest of each where a step ran twice. */
async function sweepJobs(clients: AwsClients, stack: SweepStack, sweepId: string): Promise<Map<string, JobSummary>> {
  const jobs = await listJobs(clients, { jobQueue: stack.jobQueueArn, filters: [{ name: 'JOB_NAME', values: [`${sweepId}-*`] }] });
  const latest = new Map<string, JobSummary>();
  for (const job of jobs.sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0))) latest.set(job.jobName ?? '', job);
  return latest;
}

async function listJobs(clients: AwsClients, input: ListJobsCommandInput): Promise<JobSummary[]> {
  const jobs: JobSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.batch.send(new ListJobsCommand({ ...input, ...(nextToken ? { nextToken } : {}) }));
    jobs.push(...(page.jobSummaryList ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  return jobs;
}

/** Full details (exit code, log stream), 100 jobs a call as DescribeJobs allows. */
async function describeJobs(clients: AwsClients, jobIds: readonly string[]): Promise<JobDetail[]> {
  const details: JobDetail[] = [];
  for (let i = 0; i < jobIds.length; i += 100) {
    details.push(...((await clients.batch.send(new DescribeJobsCommand({ jobs: jobIds.slice(i, i + 100) }))).jobs ?? []));
  }
  return details;
}

function toJob(job: JobSummary | JobDetail): SweepJob {
  const container = job.container as { exitCode?: number; logStreamName?: string } | undefined;
  return {
    jobId: job.jobId ?? '',
    status: job.status ?? 'UNKNOWN',
    ...(job.statusReason ? { statusReason: job.statusReason } : {}),
    ...(container?.exitCode !== undefined ? { exitCode: container.exitCode } : {}),
    ...(container?.logStreamName ? { logStream: container.logStreamName } : {}),
  };
}
