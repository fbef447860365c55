/** Stack names carry the environment, so several people can deploy side by side in one account. */
export function stackNames(envName: string): { readonly tracking: string; readonly training: string } {
  return { tracking: `MalariaTracking-${envName}`, training: `MalariaTraining-${envName}` };
}

/** Outputs of the training stack that the launcher (bin/train-cloud.ts) reads. */
export const TRAINING_OUTPUTS = {
  groupName: 'TrainerGroupName',
  runParameter: 'RunRequestParameter',
  outcomeParameter: 'OutcomeParameter',
  logGroup: 'TrainerLogGroup',
  startCommand: 'StartRunCommand',
  /** The trainer's instance type, and `spot` or `on-demand` for the trainer and sweeps: the launchers check the GPU quota with them. */
  instanceType: 'TrainerInstanceType',
  capacity: 'GpuCapacity',
} as const;

/** SSM parameters of one environment's trainer. */
export function trainerParameterNames(envName: string): { readonly runRequest: string; readonly outcome: string } {
  return { runRequest: `/malaria-mlops/${envName}/trainer/run-request`, outcome: `/malaria-mlops/${envName}/trainer/last-outcome` };
}

/** Outputs of the training stack with `serve=true`. */
export const SERVING_OUTPUTS = {
  url: 'ModelServerUrl',
  internalUrl: 'ModelServerInternalUrl',
  restartCommand: 'ModelServerRestartCommand',
  tokenCommand: 'ModelServerTokenCommand',
  service: 'ModelServerService',
  logGroup: 'ModelServerLogGroup',
} as const;

/**
 * The MLflow experiment cloud runs log to: the trainer's default (DEFAULT_EXPERIMENT in
 * trainer/src/tracking/mlflow/create-tracker.ts, which a test compares), passed to the container
 * explicitly so that the boot script looks for the run where the trainer put it.
 */
export const MLFLOW_EXPERIMENT = 'malaria-classifier';

/** Where MLflow opens through the Session Manager tunnel of docs/cloud.md when there is no public URL. */
export const TUNNEL_MLFLOW_URL = 'http://localhost:5000';

/** Outputs of the tracking stack that `npm run cloud:sleep` / `cloud:wake` read. */
export const TRACKING_OUTPUTS = {
  cluster: 'MlflowCluster',
  service: 'MlflowService',
  database: 'DatabaseInstance',
} as const;
/** Outputs of the training stack that the sweep launcher (bin/sweep.ts) reads. */
export const SWEEP_OUTPUTS = {
  stateMachine: 'SweepStateMachineArn',
  jobQueue: 'SweepJobQueueArn',
  bucket: 'SweepBucketName',
  logGroup: 'SweepLogGroup',
  instanceType: 'SweepInstanceType',
  maxInstances: 'SweepMaxInstances',
} as const;

/** Log groups of one environment's sweeps: the jobs' output, and the state machine's history (vended-logs prefix, as AWS advises). */
export function sweepLogGroupNames(envName: string): { readonly jobs: string; readonly orchestration: string } {
  return { jobs: `/malaria-mlops/${envName}/sweeps`, orchestration: `/aws/vendedlogs/states/malaria-mlops-${envName}-sweeps` };
}
