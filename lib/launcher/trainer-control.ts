import { AutoScalingClient, DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ECSClient } from '@aws-sdk/client-ecs';
import { RDSClient } from '@aws-sdk/client-rds';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { UserError } from '../../trainer/src/user-error';
import { SERVING_OUTPUTS, stackNames, TRAINING_OUTPUTS } from '../names';
import { decodeRunParameter, encodeRunParameter, type RunRequest } from '../run-parameter';

export interface AwsClients {
  readonly cloudFormation: CloudFormationClient;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  readonly ecs: ECSClient;
  readonly rds: RDSClient;
}

export function createAwsClients(region?: string): AwsClients {
  quietNodeVersionNotice();
  const config = region ? { region } : {};
  return {
    cloudFormation: new CloudFormationClient(config),
    autoScaling: new AutoScalingClient(config),
    ssm: new SSMClient(config),
    ecs: new ECSClient(config),
    rds: new RDSClient(config),
  };
}

/**
 * The SDK prints a seven-line notice on Node 20 at the first client it creates. Which Node versions
 * this project supports is settled in package.json's engines and the README (Node 20 until the SDK
 * release that needs 22; see the README), so the notice is turned off the way the SDK documents,
 * unless the user set the variable.
 */
export function quietNodeVersionNotice(env: NodeJS.ProcessEnv = process.env): void {
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

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
}

export interface GroupState {
  readonly desired: number;
  readonly instances: ReadonlyArray<{ readonly id: string; readonly state: string }>;
}

/** Reads one stack's outputs; a missing stack, region or credentials become errors that say what to do. */
export async function stackOutputs(clients: AwsClients, stackName: string, envName: string): Promise<{ get(key: string): string; has(key: string): boolean }> {
  const response = await clients.cloudFormation.send(new DescribeStacksCommand({ StackName: stackName })).catch((error: unknown) => {
    const { name, message } = error as { name?: string; message?: string };
    if (name === 'ValidationError') {
      throw new UserError(`stack ${stackName} does not exist in this account and region: deploy it first (npx cdk deploy --all -c env=${envName})`);
    }
    // The SDK's own words for a missing region or missing credentials read like a crash.
    if (message === 'Region is missing') {
      throw new UserError('no AWS region: pass --region <region>, or set AWS_REGION or a region in your AWS profile');
    }
    if (name === 'CredentialsProviderError') {
      throw new UserError(`no AWS credentials (${message}): run \`aws configure\`, or set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
    }
    throw error;
  });
  const outputs = new Map((response.Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? '', o.OutputValue ?? '']));
  return {
    has: (key) => Boolean(outputs.get(key)),
    get: (key) => {
      const value = outputs.get(key);
      if (!value) throw new UserError(`stack ${stackName} has no output ${key}: redeploy it (npx cdk deploy --all -c env=${envName})`);
      return value;
    },
  };
}

export async function findTrainerStack(clients: AwsClients, envName: string): Promise<TrainerStack> {
  const stackName = stackNames(envName).training;
  const outputs = await stackOutputs(clients, stackName, envName);
  return {
    envName,
    stackName,
    groupName: outputs.get(TRAINING_OUTPUTS.groupName),
    runParameter: outputs.get(TRAINING_OUTPUTS.runParameter),
    outcomeParameter: outputs.get(TRAINING_OUTPUTS.outcomeParameter),
    logGroup: outputs.get(TRAINING_OUTPUTS.logGroup),
    ...(outputs.has(SERVING_OUTPUTS.service) ? { modelServerService: outputs.get(SERVING_OUTPUTS.service) } : {}),
  };
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
