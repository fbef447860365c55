import { CommanderError } from 'commander';
import { fsFault } from '../fs-fault';
import { ExplainedError } from '../user-error';

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
 * The one place errors become output and an exit code. An explained error (a user's mistake: exit
 * 2; a fault of the network or the disks: exit 1) and a file-system error the machine caused (a
 * full or read-only disk) are one clear message; anything else is reported as a bug (exit 1).
 * DEBUG=1 adds the stack trace.
 */
export function handleError(error: unknown): number {
  // commander has already printed its own message (unknown option, --help...).
  if (error instanceof CommanderError) return USAGE_ERRORS.has(error.code) ? 2 : error.exitCode;
  const explained = error instanceof ExplainedError ? error : fsFault(error);
  const message = explained?.message ?? (error instanceof Error ? error.message : String(error));
  process.stderr.write(`error: ${message}\n`);
  if (process.env.DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
  if (explained) return explained.exitCode;
  if (!process.env.DEBUG) process.stderr.write('(an unexpected error: set DEBUG=1 for the stack trace and please report it)\n');
  return 1;
}
