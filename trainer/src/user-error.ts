/**
 * An error whose message tells a person all they need (what, where, the cause and the fix): the
 * CLI prints it alone, without a stack trace or "please report it", and exits with its code.
 */
export class ExplainedError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 | 130) {
    super(message);
    this.name = 'ExplainedError';
  }
}

/** Raised for input a user can fix by changing the command: exit 2. */
export class UserError extends ExplainedError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UserError';
  }
}

/**
 * The command was right, but something outside it failed: the network, a full disk. The same
 * command works once the cause is fixed: exit 1.
 */
export class EnvironmentFault extends ExplainedError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'EnvironmentFault';
  }
}
