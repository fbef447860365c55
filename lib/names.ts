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
  service: 'ModelServerService',
  logGroup: 'ModelServerLogGroup',
} as const;

/** Outputs of the training stack that the sweep launcher (bin/sweep.ts) reads. */
export const SWEEP_OUTPUTS = {
  stateMachine: 'SweepStateMachineArn',
  jobQueue: 'SweepJobQueueArn',
  bucket: 'SweepBucketName',
  logGroup: 'SweepLogGroup',
} as const;

/** Log groups of one environment's sweeps: the jobs' output, and the state machine's history (vended-logs prefix, as AWS advises). */
export function sweepLogGroupNames(envName: string): { readonly jobs: string; readonly orchestration: string } {
  return { jobs: `/malaria-mlops/${envName}/sweeps`, orchestration: `/aws/vendedlogs/states/malaria-mlops-${envName}-sweeps` };
}
