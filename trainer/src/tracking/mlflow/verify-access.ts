import { createMlflowClient, DEFAULT_EXPERIMENT } from './create-tracker';
import { parseMlflowEnv } from './env';
import { MlflowAuthError } from './errors';

/**
 * Checks the MLflow variables, and that the server accepts the login, before a run starts (and
 * before its images are read): rejected credentials fail in seconds, naming the variables to
 * set, and leave no run behind. A server that does not answer is not an error here: the tracker
 * says so at the start of the run and queues its calls.
 * @throws UserError for a malformed MLflow variable; MlflowAuthError for rejected credentials
 */
export async function verifyMlflowAccess(env: NodeJS.ProcessEnv): Promise<void> {
  const settings = parseMlflowEnv(env);
  if (!settings) return;
  const client = createMlflowClient({ ...settings, connection: { ...settings.connection, maxRetries: 0 } });
  if (await client.probe()) return;
  try {
    await client.getExperimentByName(settings.experimentName ?? DEFAULT_EXPERIMENT);
  } catch (error) {
    if (error instanceof MlflowAuthError) throw error;
  }
}
