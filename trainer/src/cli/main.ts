#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { Command } from 'commander';
import { handleError } from './handle-error';
import { npmUsage } from './npm-usage';
import { registerCompareCommand } from './commands/compare';
import { registerServeCommand } from './commands/serve';
import { registerSweepCommands } from './commands/sweep';
import { registerSyncCommand } from './commands/sync';
import { registerTrainCommand } from './commands/train';

/** The entry only registers subcommands; each lives in its own file under commands/. */
export function buildProgram(): Command {
  const program = new Command('malaria')
    .description('malaria-mlops trainer: train, track and serve malaria cell classifiers')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    // Every command runs through an npm script; the usage line shows that spelling.
    .configureHelp({ commandUsage: npmUsage });
  registerTrainCommand(program);
  registerSyncCommand(program);
  registerServeCommand(program);
  registerCompareCommand(program);
  registerSweepCommands(program);
  return program;
}

/**
 * Exits once the command is done and its output is flushed: the wasm backend's worker threads
 * would otherwise keep the process alive after the work is over.
 */
function exitWhenFlushed(code: number): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

/** Runs the trainer CLI on `argv` (node, script, command, options...) and exits when it is done. */
export function runMain(argv: readonly string[]): void {
  // Image decoding runs on libuv's pool: give it every core of a big GPU instance.
  process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));
  buildProgram()
    .parseAsync([...argv])
    .then(
      () => exitWhenFlushed(Number(process.exitCode ?? 0)),
      (error: unknown) => exitWhenFlushed(handleError(error)),
    );
}

if (require.main === module) runMain(process.argv);
