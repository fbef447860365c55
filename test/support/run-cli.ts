import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Sees stderr as it arrives (all of it so far), so a test can act mid-run (send a signal). */
  readonly onStderr?: (text: string, child: ChildProcess) => void;
  /**
   * The child is killed after this long. Keep it below the test's own timeout, so a run that hangs
   * fails its test instead of outliving it and slowing the suites after it (e2e tests get 60 s
   * more than this; one that runs the CLI twice gives itself room for both). @default 240 s
   */
  readonly timeoutMs?: number;
  /** The script to run instead of the trainer CLI, relative to the repository (`bin/sweep.ts` for `npm run sweep`). */
  readonly entry?: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  readonly done: Promise<CliResult>;
}

const ROOT = join(__dirname, '..', '..');
const ENTRY = join(ROOT, 'trainer', 'src', 'cli', 'main.ts');
export const DEFAULT_CLI_TIMEOUT_MS = 240_000;

const running = new Set<ChildProcess>();

/**
 * Starts the trainer CLI as a user would (`npm run train -- ...` is `node --import tsx
 * trainer/src/cli/main.ts train ...`: no wrapper process, so signals reach the command itself).
 */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ? join(ROOT, options.entry) : ENTRY, ...args], {
    cwd: ROOT,
    env: { ...process.env, MLFLOW_TRACKING_URI: '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  let both = '';
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS);
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    both += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    both += chunk.toString();
    options.onStderr?.(stderr, child);
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return { child, output: () => both, done };
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Kills every CLI a test started and left running (registered after each test of the e2e suites). */
export function killRunningClis(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}
