import { CommanderError } from 'commander';
import { UserError } from '../user-error';

/** commander's codes for a command line that does not parse: bad input, like a bad option value. */
const USAGE_ERRORS = new Set([
  'commander.unknownOption',
  'commander.unknownCommand',
  'commander.optionMissingArgument',
  'commander.missingArgument',
  'commander.missingMandatoryOptionValue',
  'commander.invalidArgument',
  'commander.excessArguments',
  'commander.conflictingOption',
]);

/**
 * The one place errors become output and an exit code. A user's mistake is one clear line
 * (exit 2); anything else is reported as a bug (exit 1). DEBUG=1 adds the stack trace.
 */
export function handleError(error: unknown): number {
  // commander has already printed its own message (unknown option, --help...).
  if (error instanceof CommanderError) return USAGE_ERRORS.has(error.code) ? 2 : error.exitCode;
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message}\n`);
  if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  if (error instanceof UserError) return 2;
  if (!process.env.DEBUG) process.stderr.write('(an unexpected error: set DEBUG=1 for the stack trace and please report it)\n');
  return 1;
}
