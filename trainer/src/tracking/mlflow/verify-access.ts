import { createMlflowClient, DEFAULT_EXPERIMENT } from './create-tracker';
import { parseMlflowEnv } from './env';
import { UserError } from '../../user-error';

/**
 * Checks the MLflow variables, that the address answers as MLflow does, and that the server
 * accepts the login, before a run starts (and before its images are read): rejected credentials
 * or an address that is some other web server fail in seconds, naming what to fix, and leave no
 * run behind. A server that does not answer is not an error here: the tracker says so at the
 * start of the run and queues its calls.
 * @throws UserError for a malformed MLflow variable or a foreign answer; MlflowAuthError for rejected credentials
 */
export async function verifyMlflowAccess(env: NodeJS.ProcessEnv): Promise<void> {
  const settings = parseMlflowEnv(env);
  if (!settings) return;
  const client = createMlflowClient({ ...settings, connection: { ...settings.connection, maxRetries: 0 } });
  if (await client.probe()) return;
  const foreign = await client.foreignAnswer(settings.experimentName ?? DEFAULT_EXPERIMENT);
  if (foreign) {
    throw new UserError(`MLFLOW_TRACKING_URI=${settings.connection.trackingUri} answers, but not as an MLflow tracking server: `
      + `an experiment lookup (GET /api/2.0/mlflow/experiments/get-by-name) got ${foreign}. Check the address and the port of `
      + 'the MLflow server (the one `mlflow server` prints), or unset MLFLOW_TRACKING_URI to train without it.');
  }
}
