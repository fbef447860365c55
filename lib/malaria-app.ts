import { type App, type Environment, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { DeploymentConfig } from './config';
import { stackNames } from './names';
import { TrackingStack } from './tracking-stack';
import { TrainingStack } from './training-stack';

export interface MalariaStacks {
  readonly tracking: TrackingStack;
  readonly training: TrainingStack;
}

/** Adds one environment's stacks to the app, checked by the cdk-nag AwsSolutions pack. */
export function addMalariaStacks(app: App, config: DeploymentConfig, env?: Environment): MalariaStacks {
  const names = stackNames(config.envName);
  const tracking = new TrackingStack(app, names.tracking, { env, config, description: `malaria-mlops ${config.envName}: network, MLflow, PostgreSQL, S3` });
  const training = new TrainingStack(app, names.training, {
    env,
    config,
    description: `malaria-mlops ${config.envName}: self-stopping GPU trainer${config.serve ? ', champion model server' : ''}`,
    vpc: tracking.network.vpc,
    artifacts: tracking.artifacts,
    dataAccess: tracking.trainerDataAccess,
    sweepPlanAccess: tracking.sweepPlanAccess,
    mlflow: tracking.mlflow,
  });
  Tags.of(app).add('project', 'malaria-mlops');
  Tags.of(app).add('environment', config.envName);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { tracking, training };
}
