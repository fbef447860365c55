import type { ChildProcess } from 'node:child_process';
import { startCli } from './run-cli';

export interface ServeCli {
  readonly child: ChildProcess;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
}

/** `npm run serve -- ...` (node --import tsx, no wrapper process, so signals reach the server itself); no token unless `env` sets one. */
export function serveCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): ServeCli {
  return startCli(['serve', ...args], { env: { MODEL_SERVER_TOKEN: '', ...env } });
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
