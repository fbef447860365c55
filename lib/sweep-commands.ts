/**
 * What a sweep's jobs run, what they are called and where their files are: shared by the
 * constructs that deploy sweeps and by the launcher, which must not load the CDK to know them.
 */

/** What the launcher starts an execution with; the execution is named after the sweep. */
export interface SweepExecutionInput {
  readonly sweepId: string;
  /** How many cells the plan has: the array size. */
  readonly cells: number;
}

/** Batch job parameters the cell command refers to as `Ref::<name>`; the state machine fills them. */
export const SWEEP_JOB_PARAMETERS = { plan: 'plan', checkpointUri: 'checkpointUri' } as const;

export type SweepStep = 'start' | 'cells' | 'finish';

/** Batch job names of a sweep's steps; `--status` and `--stop` find the jobs by them. */
export function sweepJobName(sweepId: string, step: SweepStep): string {
  return `${sweepId}-${step}`;
}

/** The sweep's folder: plan.json (the launcher writes it), parent.json (sweep-start writes it). */
export function sweepUri(bucket: string, sweepId: string): string {
  return `s3://${bucket}/sweeps/${sweepId}/`;
}

/** Checkpoints of the sweep's cells; sweep-cell adds `<index>/`, so a retried child resumes its own. */
export function sweepCheckpointUri(bucket: string, sweepId: string): string {
  return `s3://${bucket}/checkpoints/${sweepId}/`;
}

/** The dataset cache every cloud run shares with `train:cloud` (lib/trainer-boot.sh). */
export function datasetCacheUri(bucket: string): string {
  return `s3://${bucket}/datasets/malaria/`;
}

/**
 * What a child runs: one cell of the plan, with the dataset cache and the checkpoints. Plan and
 * checkpoint folder default to the job's parameters.
 */
export function sweepCellCommand(
  bucket: string,
  plan = `Ref::${SWEEP_JOB_PARAMETERS.plan}`,
  checkpointUri = `Ref::${SWEEP_JOB_PARAMETERS.checkpointUri}`,
): string[] {
  return ['sweep-cell', '--plan', plan, '--require-gpu', '--dataset-cache', datasetCacheUri(bucket), '--checkpoint-uri', checkpointUri];
}
