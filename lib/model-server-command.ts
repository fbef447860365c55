import { TrainConfigSchema } from '../trainer/src/config';
import type { CloudTrainOptions } from './run-options';

/** The model server's port inside its task. */
export const MODEL_SERVER_PORT = 8080;
/**
 * Every route of the model server sits under this prefix: MLflow already answers /health and
 * /version at the root of the load balancers it shares with the model server.
 */
export const MODEL_BASE_PATH = '/model';
/** The alias the trainer moves to a better model version (mlflow-tracker.ts, championAlias). */
export const CHAMPION_ALIAS = 'champion';

/** The registered model that deploy-started runs register into: `--register-model`, else the trainer's default. */
export function registeredModelName(train: CloudTrainOptions): string {
  return train.registerModel ?? TrainConfigSchema.shape.registerModel.parse(undefined);
}

/**
 * The trainer image's arguments that serve the champion of `modelName`. The alias is resolved
 * once, at start: a restarted task serves whatever version is the champion then.
 */
export function modelServerCommand(modelName: string): string[] {
  return [
    'serve',
    '--model', `models:/${modelName}@${CHAMPION_ALIAS}`,
    '--host', '0.0.0.0',
    '--port', String(MODEL_SERVER_PORT),
    '--base-path', MODEL_BASE_PATH,
  ];
}

/** A container health check in the image's own runtime (the image has node, no curl). */
export function modelServerHealthCommand(): string[] {
  const url = `http://127.0.0.1:${MODEL_SERVER_PORT}${MODEL_BASE_PATH}/health`;
  return ['CMD', 'node', '-e', `fetch('${url}').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))`];
}

/** Replaces the running task, which then loads the current champion. */
export function restartCommand(clusterName: string, serviceName: string): string {
  return `aws ecs update-service --cluster ${clusterName} --service ${serviceName} --force-new-deployment`;
}
