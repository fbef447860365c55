import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { ListJobsCommand } from '@aws-sdk/client-batch';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { powerCommand } from '../../lib/launcher/power-command';
import { trainCloudCommand } from '../../lib/launcher/train-cloud-command';
import { UserError } from '../../trainer/src/user-error';
import { runningExecutions } from './cloud-aws-responses';
import { stackWithOutputs, stubbedAwsClients } from './stubbed-aws';
import { childrenList, JOB_QUEUE_ARN, STATE_MACHINE_ARN, SWEEP_ID, SWEEP_OUTPUTS } from './sweep-aws-responses';

interface Fake {
  database?: string;
  desired?: number;
  mlflowDesired?: number;
  serving?: boolean;
  /** Sweep executions running, and Batch jobs running in the sweep queue. */
  sweeps?: string[];
  sweepJobs?: number;
}

const TRACKING = { MlflowCluster: 'malaria-dev-cluster', MlflowService: 'mlflow-service', DatabaseInstance: 'mlflow-db' };
const TRAINING = {
  TrainerGroupName: 'trainer-asg', RunRequestParameter: '/malaria-mlops/dev/trainer/run-request',
  OutcomeParameter: '/malaria-mlops/dev/trainer/last-outcome', TrainerLogGroup: '/malaria-mlops/dev/trainer',
};

/** Stubbed SDK clients answering from `fake`, and the commands on them. */
function aws(fake: Fake = {}) {
  const printed: string[] = [];
  const { clients, calls } = stubbedAwsClients((command) => {
    if (command instanceof DescribeStacksCommand) {
      return stackWithOutputs(command.input.StackName === 'MalariaTracking-dev'
        ? TRACKING : { ...SWEEP_OUTPUTS, ...TRAINING, ...(fake.serving ? { ModelServerService: 'model-server' } : {}) });
    }
    if (command instanceof ListExecutionsCommand) return runningExecutions(fake.sweeps ?? []);
    if (command instanceof ListJobsCommand) return childrenList([...Array(fake.sweepJobs ?? 0).keys()], 'RUNNING');
    if (command instanceof DescribeAutoScalingGroupsCommand) return { AutoScalingGroups: [{ DesiredCapacity: fake.desired ?? 0, Instances: [] }] };
    if (command instanceof DescribeDBInstancesCommand) return { DBInstances: [{ DBInstanceStatus: fake.database ?? 'available' }] };
    if (command instanceof DescribeServicesCommand) return { services: [{ desiredCount: fake.mlflowDesired ?? 1 }] };
    if (command instanceof GetParameterCommand) return { Parameter: { Value: 'r0' } };
    return {};
  });
  const waited: string[] = [];
  const deps = {
    clients: () => clients,
    print: (line: string) => printed.push(line),
    waitForDatabase: async (_c: unknown, id: string) => void waited.push(id),
  };
  const run = (action: 'sleep' | 'wake', ...args: string[]) => powerCommand(action, deps).exitOverride().parseAsync(args, { from: 'user' });
  const mutations = () => calls.filter((c) => /^(UpdateService|StopDBInstance|StartDBInstance|PutParameter|SetDesiredCapacity)/.test(c));
  return { run, calls, printed, waited, mutations, clients };
}

describe('npm run cloud:sleep', () => {
  test('stops MLflow and the model server, then the database, and says how to wake it', async () => {
    const fake = aws({ serving: true });
    await fake.run('sleep');
    expect(fake.mutations()).toEqual([
      'UpdateServiceCommand {"cluster":"malaria-dev-cluster","service":"mlflow-service","desiredCount":0}',
      'UpdateServiceCommand {"cluster":"malaria-dev-cluster","service":"model-server","desiredCount":0}',
      'StopDBInstanceCommand {"DBInstanceIdentifier":"mlflow-db"}',
    ]);
    expect(fake.printed.at(-1)).toBe('dev is asleep; wake it with: npm run cloud:wake -- --env dev');
  });

  test('refuses while a training run is going, and changes nothing', async () => {
    const fake = aws({ desired: 1 });
    await expect(fake.run('sleep')).rejects.toThrow(UserError);
    await expect(fake.run('sleep')).rejects.toThrow(/a training run is going in dev .*--stop/);
    expect(fake.mutations()).toEqual([]);
  });

  test('refuses while a sweep runs (its cells log to MLflow), names it with the commands that follow and stop it, and changes nothing', async () => {
    const fake = aws({ sweeps: [SWEEP_ID] });
    await expect(fake.run('sleep')).rejects.toThrow(UserError);
    await expect(fake.run('sleep')).rejects.toThrow(`sweep ${SWEEP_ID} is running in dev and logs to MLflow: let it finish `
      + `(npm run sweep -- --env dev --status ${SWEEP_ID}), or stop it first (npm run sweep -- --env dev --stop ${SWEEP_ID})`);
    expect(fake.calls).toContain(`ListExecutionsCommand {"stateMachineArn":"${STATE_MACHINE_ARN}","statusFilter":"RUNNING"}`);
    expect(fake.mutations()).toEqual([]);
  });

  test('refuses while Batch jobs run in the sweep queue without a running sweep', async () => {
    const fake = aws({ sweepJobs: 2 });
    await expect(fake.run('sleep')).rejects.toThrow(`2 Batch jobs are running in the sweep queue of dev and log to MLflow: let them finish, or terminate them (aws batch list-jobs --job-queue ${JOB_QUEUE_ARN} --job-status RUNNING)`);
    expect(fake.mutations()).toEqual([]);
  });
});

describe('npm run cloud:wake', () => {
  test('starts the database, waits until it answers, then starts MLflow', async () => {
    const fake = aws({ database: 'stopped' });
    await fake.run('wake');
    expect(fake.mutations()).toEqual([
      'StartDBInstanceCommand {"DBInstanceIdentifier":"mlflow-db"}',
      'UpdateServiceCommand {"cluster":"malaria-dev-cluster","service":"mlflow-service","desiredCount":1}',
    ]);
    expect(fake.waited).toEqual(['mlflow-db']);
  });

  test('a database still stopping is a clear error', async () => {
    await expect(aws({ database: 'stopping' }).run('wake')).rejects.toThrow(/still stopping/);
  });
});

test('train:cloud refuses to start a run while MLflow is asleep', async () => {
  const fake = aws({ mlflowDesired: 0 });
  const command = trainCloudCommand({ clients: () => fake.clients, now: () => new Date(), print: () => undefined });
  command.exitOverride().configureOutput({ writeErr: () => undefined });
  await expect(command.parseAsync(['--model', 'micro'], { from: 'user' })).rejects.toThrow(/MLflow in dev is asleep.*npm run cloud:wake -- --env dev first/);
  expect(fake.mutations()).toEqual([]);
});
