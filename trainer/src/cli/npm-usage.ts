import type { Command } from 'commander';

/**
 * The usage line of a command as people type it (`npm run train -- [options]`): every command runs
 * through an npm script of the same name, never under the program's internal name.
 */
export function npmUsage(command: Command): string {
  return `npm run ${command.name()} -- ${command.usage()}`;
}
