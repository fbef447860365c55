import { spawnSync } from 'node:child_process';

/** Whether Docker can build an image on this machine now, and if not, why. */
export type DockerState =
  | { readonly available: true; readonly serverVersion: string }
  | { readonly available: false; readonly problem: string };

/** The command CDK builds image assets with: `CDK_DOCKER`, else `docker`, as the CDK CLI chooses it. */
export function dockerCommand(env: NodeJS.ProcessEnv = process.env): string {
  return env.CDK_DOCKER || 'docker';
}

/**
 * Asks the Docker client for the daemon's version, the cheapest call that needs both: a client
 * without a daemon (Docker Desktop not started) cannot build either. Synchronous, because the CDK
 * app that uses it is.
 */
export function probeDocker(command: string = dockerCommand(), timeoutMs = 10_000): DockerState {
  const result = spawnSync(command, ['version', '--format', '{{.Server.Version}}'], { encoding: 'utf8', timeout: timeoutMs });
  const code = (result.error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return { available: false, problem: `\`${command}\` is not installed here (not found on PATH)` };
  if (result.error) return { available: false, problem: `\`${command} version\` did not answer within ${timeoutMs / 1000} s` };
  if (result.status !== 0) {
    const said = (result.stderr || result.stdout).trim().split('\n')[0];
    return { available: false, problem: `\`${command}\` is installed but its daemon does not answer (${said || `exit code ${result.status}`}): start Docker Desktop, or \`sudo systemctl start docker\`` };
  }
  return { available: true, serverVersion: result.stdout.trim() };
}
