/** Raised for input a user can fix; the CLI prints its message alone, without a stack trace. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
