import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import path from 'node:path';
import { MlflowClient } from './client';
import { type MlflowSettings, parseMlflowEnv } from './env';
import { MlflowTracker, type MlflowTrackerOptions } from './mlflow-tracker';

export const DEFAULT_EXPERIMENT = 'malaria-classifier';

export type MlflowTrackerFactoryOptions = Partial<MlflowTrackerOptions>;

/** The commit of the working tree the trainer runs from, when it is a git checkout with git installed. */
export function detectGitCommit(cwd = process.cwd()): string | undefined {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

function osUser(env: NodeJS.ProcessEnv): string {
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? env.USERNAME ?? 'unknown';
  }
}

export function createMlflowClient(settings: MlflowSettings): MlflowClient {
  return new MlflowClient(settings.connection, settings.artifacts);
}

/**
 * The tracker the CLI uses when MLFLOW_TRACKING_URI is set; undefined when it is not.
 * Options win over the environment: experiment from MLFLOW_EXPERIMENT_NAME, else
 * 'malaria-classifier'; the git commit from GIT_COMMIT, else `git rev-parse HEAD`.
 * @throws UserError for a malformed MLflow variable
 */
export function createMlflowTrackerFromEnv(env: NodeJS.ProcessEnv, options: MlflowTrackerFactoryOptions = {}): MlflowTracker | undefined {
  const settings = parseMlflowEnv(env);
  if (!settings) return undefined;
  return new MlflowTracker(createMlflowClient(settings), {
    ...options,
    experimentName: options.experimentName ?? settings.experimentName ?? DEFAULT_EXPERIMENT,
    user: options.user ?? osUser(env),
    sourceName: options.sourceName ?? path.basename(process.argv[1] ?? 'malaria-trainer'),
    gitCommit: options.gitCommit ?? (env.GIT_COMMIT?.trim() || detectGitCommit()),
  });
}
