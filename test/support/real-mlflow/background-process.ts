import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

/**
 * A server process that outlives the command that started it: its own process group (so that
 * stopping it ends its workers too), its output in a log file, its pid in a file.
 */
export interface BackgroundProcess {
  readonly pidFile: string;
  readonly logFile: string;
}

/**
 * The pid in pidFile when that process still runs and its command line contains one of the
 * markers (a pid the system gave to another program since is left alone).
 */
export function runningPid(proc: BackgroundProcess, markers: readonly string[]): number | undefined {
  if (!existsSync(proc.pidFile)) return undefined;
  const pid = Number(readFileSync(proc.pidFile, 'utf8'));
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    return markers.some((m) => cmdline.includes(m)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function startBackground(proc: BackgroundProcess, command: string, args: readonly string[], options: { cwd: string; env: NodeJS.ProcessEnv }): number {
  const log = openSync(proc.logFile, 'w');
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    writeFileSync(proc.pidFile, String(child.pid));
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to the process group, SIGKILL after 20 s. */
export async function stopBackground(proc: BackgroundProcess, markers: readonly string[]): Promise<void> {
  const pid = runningPid(proc, markers);
  if (pid !== undefined) {
    process.kill(-pid, 'SIGTERM');
    for (let i = 0; i < 80 && isAlive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 250));
    if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
  }
  rmSync(proc.pidFile, { force: true });
}

export function logTail(proc: BackgroundProcess, lines = 30): string {
  try {
    return readFileSync(proc.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
