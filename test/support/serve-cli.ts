import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

export interface ServeCli {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** `npm run serve -- ...`, without npm in between so signals reach the server itself. */
export function serveCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ServeCli {
  const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['trainer/src/cli/main.ts', 'serve', ...args], {
    cwd: ROOT,
    env: { ...process.env, MLFLOW_TRACKING_URI: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { child, output: () => text };
}

/** Waits until the output matches; fails when the command exits first. */
export async function waitForOutput({ child, output }: ServeCli, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match;
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${pattern}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
