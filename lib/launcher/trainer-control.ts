import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { UserError } from '../../trainer/src/user-error';
import { SERVING_OUTPUTS, TRAINING_OUTPUTS } from '../names';
import { decodeRunParameter, encodeRunParameter, type RunRequest } from '../run-parameter';
import { type AwsClients, type StackOutputs, trainingStackOutputs } from './aws-clients';
import type { GpuCapacity } from './gpu-quota';

/** Where one environment's trainer lives, from the training stack's outputs. */
export interface TrainerStack {
  readonly envName: string;
  readonly stackName: string;
  readonly groupName: string;
  readonly runParameter: string;
  readonly outcomeParameter: string;
  readonly logGroup: string;
  /** The model server's ECS service, with `serve=true`. */
  readonly modelServerService?: string;
  /** The trainer's instances; missing from a deployment older than these outputs. */
  readonly gpu?: GpuCapacity;
}

export interface GroupState {
  readonly desired: number;
  readonly instances: ReadonlyArray<{ readonly id: string; readonly state: string }>;
}

export async function findTrainerStack(clients: AwsClients, envName: string): Promise<TrainerStack> {
  return trainerStackFrom(await trainingStackOutputs(clients, envName));
}

/** The trainer's part of the training stack's outputs. */
export function trainerStackFrom(outputs: StackOutputs): TrainerStack {
  const { envName, stackName } = outputs;
  return {
    envName,
    stackName,
    groupName: outputs.output(TRAINING_OUTPUTS.groupName),
    runParameter: outputs.output(TRAINING_OUTPUTS.runParameter),
    outcomeParameter: outputs.output(TRAINING_OUTPUTS.outcomeParameter),
    logGroup: outputs.output(TRAINING_OUTPUTS.logGroup),
    ...(outputs.has(SERVING_OUTPUTS.service) ? { modelServerService: outputs.output(SERVING_OUTPUTS.service) } : {}),
    ...(outputs.has(TRAINING_OUTPUTS.instanceType) ? { gpu: gpuCapacity(outputs, outputs.output(TRAINING_OUTPUTS.instanceType)) } : {}),
  };
}

/** An instance type with the stack's `spot`/`on-demand` choice. */
export function gpuCapacity(outputs: StackOutputs, instanceType: string): GpuCapacity {
  return { instanceType, lifecycle: outputs.output(TRAINING_OUTPUTS.capacity) === 'spot' ? 'spot' : 'on-demand' };
}

export async function groupState(clients: AwsClients, stack: TrainerStack): Promise<GroupState> {
  const response = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [stack.groupName] }));
  const group = response.AutoScalingGroups?.[0];
  if (!group) throw new UserError(`Auto Scaling group ${stack.groupName} of ${stack.stackName} is gone: redeploy (npx cdk deploy --all -c env=${stack.envName})`);
  return {
    desired: group.DesiredCapacity ?? 0,
    instances: (group.Instances ?? []).map((i) => ({ id: i.InstanceId ?? '?', state: i.LifecycleState ?? '?' })),
  };
}

export async function currentRunRequest(clients: AwsClients, stack: TrainerStack): Promise<RunRequest> {
  const response = await clients.ssm.send(new GetParameterCommand({ Name: stack.runParameter }));
  return decodeRunParameter(response.Parameter?.Value ?? '');
}

export async function lastOutcome(clients: AwsClients, stack: TrainerStack): Promise<string> {
  const response = await clients.ssm.send(new GetParameterCommand({ Name: stack.outcomeParameter }));
  return response.Parameter?.Value ?? '';
}

/**
 * Starts a run: writes the request the instance reads at boot, then asks for one instance. One run
 * at a time per environment; a second would overwrite the request of the first.
 */
export async function startRun(clients: AwsClients, stack: TrainerStack, request: RunRequest): Promise<void> {
  const state = await groupState(clients, stack);
  if (state.desired > 0 || state.instances.length > 0) {
    const running = await currentRunRequest(clients, stack);
    const instances = state.instances.map((i) => `${i.id} ${i.state}`).join(', ') || 'starting';
    throw new UserError(`run ${running.runId} is still going in ${stack.envName} (${instances}): wait for it to finish, `
      + `or stop it with: npm run train:cloud -- --env ${stack.envName} --stop`);
  }
  await clients.ssm.send(new PutParameterCommand({ Name: stack.runParameter, Value: encodeRunParameter(request), Overwrite: true }));
  await clients.autoScaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: stack.groupName, DesiredCapacity: 1, HonorCooldown: false }));
}

/** Stops the current run: the group terminates the instance, whose container checkpoints on the way down. */
export async function stopRun(clients: AwsClients, stack: TrainerStack): Promise<void> {
  await clients.autoScaling.send(new SetDesiredCapacityCommand({ AutoScalingGroupName: stack.groupName, DesiredCapacity: 0, HonorCooldown: false }));
}
