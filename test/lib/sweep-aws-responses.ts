import { Readable } from 'node:stream';
import type { DescribeJobsCommandOutput, JobStatus, JobSummary, ListJobsCommandOutput } from '@aws-sdk/client-batch';
import type { DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';

/**
 * AWS answers for the sweep launcher's tests, in the shapes the services return (field names and
 * nesting as in the CloudFormation, Step Functions, Batch and S3 API references; ids made up).
 */

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const SWEEP_ID = 'sweep-20261130-101500-ab12';
export const BUCKET = 'malariatracking-dev-artifactsbucket886718973b-1x2y3z4w5v6u';
export const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:SweepStateMachine4F1C2A8B-AbCdEfGhIjKl`;
export const EXECUTION_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:execution:SweepStateMachine4F1C2A8B-AbCdEfGhIjKl:${SWEEP_ID}`;
export const JOB_QUEUE_ARN = `arn:aws:batch:${REGION}:${ACCOUNT}:job-queue/SweepComputeQueue816ABF60-0a1b2c3d4e5f6a7b`;
export const LOG_GROUP = '/malaria-mlops/dev/sweeps';
export const CELLS_JOB_ID = '2f4b0a8e-6c1d-4e9f-9a3b-5d7c8e1f2a3b';

const metadata = { httpStatusCode: 200, requestId: 'f3b1c2d4-0000-4000-8000-000000000001', attempts: 1, totalRetryDelay: 0 };

export const describeStacks = (outputs: Record<string, string>): DescribeStacksCommandOutput => ({
  $metadata: metadata,
  Stacks: [{
    StackName: 'MalariaTraining-dev',
    StackId: `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/MalariaTraining-dev/0f9e8d7c-6b5a-4321-8765-43210fedcba9`,
    StackStatus: 'UPDATE_COMPLETE',
    CreationTime: new Date('2026-11-20T09:00:00Z'),
    Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue, Description: '' })),
  }],
});

export const SWEEP_OUTPUTS = {
  SweepStateMachineArn: STATE_MACHINE_ARN,
  SweepJobQueueArn: JOB_QUEUE_ARN,
  SweepBucketName: BUCKET,
  SweepLogGroup: LOG_GROUP,
  TrainerGroupName: 'MalariaTraining-dev-TrainerGroupASG-1',
};

export const startExecution = (name: string) => ({
  $metadata: metadata,
  executionArn: `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
  startDate: new Date('2026-11-30T10:15:01Z'),
});

export const describeExecution = (status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED', extra: Record<string, unknown> = {}) => ({
  $metadata: metadata,
  executionArn: EXECUTION_ARN,
  stateMachineArn: STATE_MACHINE_ARN,
  name: SWEEP_ID,
  status,
  startDate: new Date('2026-11-30T10:15:01Z'),
  input: JSON.stringify({ sweepId: SWEEP_ID, cells: 4 }),
  ...extra,
});

export const executionDoesNotExist = () => Object.assign(new Error(`Execution Does Not Exist: '${EXECUTION_ARN}'`), {
  name: 'ExecutionDoesNotExist', $fault: 'client', $metadata: { ...metadata, httpStatusCode: 400 },
});

/** Fields every job has, in a summary (ListJobs) and in full (DescribeJobs). */
const jobFields = (name: string, jobId: string, status: JobStatus) => ({
  jobArn: `arn:aws:batch:${REGION}:${ACCOUNT}:job/${jobId}`,
  jobId,
  jobName: name,
  createdAt: 1_796_033_701_000,
  status,
  jobDefinition: `arn:aws:batch:${REGION}:${ACCOUNT}:job-definition/SweepJobJobDefinitionBB7D73E1-1a2b3c4d5e6f7a8:3`,
});

const jobSummary = (name: string, jobId: string, status: JobStatus, extra: Partial<JobSummary> = {}): JobSummary => ({
  ...jobFields(name, jobId, status), ...extra,
});

/** ListJobs on the queue filtered by the sweep's job names. */
export const sweepJobsList = (steps: { start?: JobStatus; cells?: JobStatus; finish?: JobStatus }): ListJobsCommandOutput => ({
  $metadata: metadata,
  jobSummaryList: [
    ...(steps.start ? [jobSummary(`${SWEEP_ID}-start`, '7a1e3c5b-2d4f-4a6b-8c0d-1e2f3a4b5c6d', steps.start, steps.start === 'SUCCEEDED' ? { container: { exitCode: 0 } } : {})] : []),
    ...(steps.cells ? [jobSummary(`${SWEEP_ID}-cells`, CELLS_JOB_ID, steps.cells, { arrayProperties: { size: 4 } })] : []),
    ...(steps.finish ? [jobSummary(`${SWEEP_ID}-finish`, '9c3a5e7b-4f6d-4c8b-a0e2-3f4a5b6c7d8e', steps.finish)] : []),
  ],
});

/** ListJobs of the array's children in one state. */
export const childrenList = (indexes: readonly number[], status: JobStatus): ListJobsCommandOutput => ({
  $metadata: metadata,
  jobSummaryList: indexes.map((index) => jobSummary(`${SWEEP_ID}-cells`, `${CELLS_JOB_ID}:${index}`, status, { arrayProperties: { index } })),
});

export const describeArrayJob = (statusSummary: Record<string, number>): DescribeJobsCommandOutput => ({
  $metadata: metadata,
  jobs: [{
    ...jobFields(`${SWEEP_ID}-cells`, CELLS_JOB_ID, 'PENDING'),
    jobQueue: JOB_QUEUE_ARN,
    startedAt: 1_796_033_760_000,
    arrayProperties: { size: 4, statusSummary },
    dependsOn: [],
    parameters: { plan: `s3://${BUCKET}/sweeps/${SWEEP_ID}/`, checkpointUri: `s3://${BUCKET}/checkpoints/${SWEEP_ID}/` },
  }],
});

export const describeFailedChild = (index: number): DescribeJobsCommandOutput => ({
  $metadata: metadata,
  jobs: [{
    ...jobFields(`${SWEEP_ID}-cells`, `${CELLS_JOB_ID}:${index}`, 'FAILED'),
    jobQueue: JOB_QUEUE_ARN,
    startedAt: 1_796_033_760_000,
    stoppedAt: 1_796_034_100_000,
    statusReason: 'Essential container in task exited',
    arrayProperties: { index },
    attempts: [{ container: { exitCode: 1, logStreamName: `sweep/default/0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5${index}` }, statusReason: 'Essential container in task exited' }],
    container: { exitCode: 1, logStreamName: `sweep/default/0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5${index}` },
  }],
});

/** GetObject of a small JSON file. */
export const jsonObject = (value: unknown) => {
  const bytes = Buffer.from(JSON.stringify(value));
  return { $metadata: metadata, Body: Readable.from([bytes]) as never, ContentLength: bytes.length, ContentType: 'application/octet-stream', ETag: '"5d41402abc4b2a76b9719d911017c592"' };
};

export const noSuchKey = () => Object.assign(new Error('The specified key does not exist.'), {
  name: 'NoSuchKey', $fault: 'client', $metadata: { ...metadata, httpStatusCode: 404 },
});
