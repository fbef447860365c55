import { Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as batch from 'aws-cdk-lib/aws-batch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';
import { SWEEP_JOB_PARAMETERS, type SweepStep, sweepCellCommand, sweepCheckpointUri, sweepJobName, sweepUri } from './sweep-commands';

export interface SweepStateMachineProps {
  readonly jobQueue: batch.IJobQueue;
  readonly jobDefinition: batch.IJobDefinition;
  /** The artifact bucket: plans live in `sweeps/<id>/`, checkpoints in `checkpoints/<id>/<cell>/`. */
  readonly bucketName: string;
  /** The state machine's log group name. */
  readonly logGroupName: string;
  /**
   * sweep-start and sweep-finish run at most this long.
   * @default 30 minutes
   */
  readonly stepTimeout?: Duration;
}

/**
 * One sweep, start to end, on Step Functions (an orchestrator AWS runs, so no code of ours waits
 * anywhere): sweep-start (the MLflow parent run), then every cell as one Batch array job, waited
 * on with `.sync`, then sweep-finish (the comparison, the champion rule). sweep-finish also runs
 * when some cells failed, with whatever finished, and the execution then ends failed.
 */
export class SweepStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: SweepStateMachineProps) {
    super(scope, id);
    const stepTimeout = props.stepTimeout ?? Duration.minutes(30);
    // JSONata, so that commands and job names are built from the input inside the definition: the
    // launcher's own functions, given the variable `$sweepId` as a JSONata string splice.
    const withSweepId = (build: (sweepId: string) => string) =>
      `{% ${`'${build("' & $sweepId & '")}'`.replace(/^'' & /, '').replace(/ & ''$/, '')} %}`;
    const plan = withSweepId((id) => sweepUri(props.bucketName, id));
    const checkpoints = withSweepId((id) => sweepCheckpointUri(props.bucketName, id));
    const job = (stateId: string, step: SweepStep, extra: Partial<tasks.BatchSubmitJobJsonataProps>) =>
      tasks.BatchSubmitJob.jsonata(this, stateId, {
        jobQueueArn: props.jobQueue.jobQueueArn,
        jobDefinitionArn: props.jobDefinition.jobDefinitionArn,
        jobName: withSweepId((id) => sweepJobName(id, step)),
        ...extra,
      });
    const step = (stateId: string, subcommand: 'sweep-start' | 'sweep-finish', name: 'start' | 'finish') =>
      job(stateId, name, { containerOverrides: { command: [subcommand, '--plan', plan] }, taskTimeout: sfn.Timeout.duration(stepTimeout) });

    const read = sfn.Pass.jsonata(this, 'ReadInput', {
      comment: 'The input: {"sweepId": "sweep-YYYYMMDD-HHMMSS-xxxx", "cells": N}',
      assign: { sweepId: '{% $states.input.sweepId %}', cells: '{% $states.input.cells %}' },
    });
    const badInput = new sfn.Fail(this, 'BadInput', {
      error: 'BadInput',
      cause: 'expected {"sweepId": "sweep-YYYYMMDD-HHMMSS-xxxx", "cells": 1..10000}; start sweeps with npm run sweep -- --cloud',
    });
    const start = step('StartSweep', 'sweep-start', 'start');
    const oneCell = job('TrainTheCell', 'cells', {
      // Batch arrays have at least two children; a single cell runs as a plain job, told its index.
      containerOverrides: { command: [...sweepCellCommand(props.bucketName, plan, checkpoints), '--index', '0'] },
    });
    const cells = job('TrainCells', 'cells', {
      arraySize: Token.asNumber({ resolve: () => '{% $cells %}' }),
      payload: sfn.TaskInput.fromObject({ [SWEEP_JOB_PARAMETERS.plan]: plan, [SWEEP_JOB_PARAMETERS.checkpointUri]: checkpoints }),
    });
    const finish = step('FinishSweep', 'sweep-finish', 'finish');
    const finishAfterFailures = step('FinishAfterFailures', 'sweep-finish', 'finish');
    const cellsFailed = new sfn.Fail(this, 'SomeCellsFailed', {
      error: 'CellsFailed',
      cause: 'Some cells failed; the comparison covers the cells that finished (npm run sweep -- --status <sweep id> names them).',
    });
    for (const training of [oneCell, cells]) {
      training.addCatch(finishAfterFailures, { errors: [sfn.Errors.ALL] }).next(finish);
    }
    finishAfterFailures.next(cellsFailed);
    finish.next(new sfn.Succeed(this, 'Done'));

    const definition = read.next(new sfn.Choice(this, 'InputValid')
      .when(sfn.Condition.jsonata("{% $type($sweepId) = 'string' and $contains($sweepId, /^sweep-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/) "
        + "and $type($cells) = 'number' and $cells >= 1 and $cells <= 10000 and $cells = $floor($cells) %}"),
      start.next(new sfn.Choice(this, 'OneCellOrMore')
        .when(sfn.Condition.jsonata('{% $cells = 1 %}'), oneCell)
        .otherwise(cells)))
      .otherwise(badInput));

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: props.logGroupName,
      retention: logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(definition),
      comment: 'A sweep: sweep-start, every cell as a Batch array job, sweep-finish (also after failed cells)',
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // CDK grants SubmitJob and the events rule of `.sync`; stopping an execution also terminates its
    // job, and waiting may describe it: the rest of the policy AWS documents for this integration.
    const anyJob = Stack.of(this).formatArn({ service: 'batch', resource: 'job', resourceName: '*' });
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:TerminateJob'], resources: [anyJob] }));
    this.stateMachine.addToRolePolicy(new iam.PolicyStatement({ actions: ['batch:DescribeJobs'], resources: ['*'] }));
    acknowledgeWildcardResource(this.stateMachine.role, anyJob, 'Batch job ids exist only once a sweep runs; the action only terminates jobs.');
    acknowledgeWildcardResource(this.stateMachine.role, Stack.of(this).formatArn({ service: 'batch', resource: 'job-definition', resourceName: '*' }),
      'SubmitJob names the job definition with its revision, which changes on every deploy; the queue in the same statement is named exactly.');
    Validations.of(this.stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'batch:DescribeJobs, X-Ray trace writes and CloudWatch Logs delivery set-up support no resource-level permissions.',
    });
  }
}
