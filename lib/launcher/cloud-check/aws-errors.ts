import type { CheckResult } from './check-result';

/** An AWS SDK error's name and message, whatever was thrown. */
export function awsErrorOf(error: unknown): { readonly name: string; readonly message: string } {
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  return { name: name ?? 'Error', message: message ?? String(error) };
}

/** The names services give a refusal by IAM (EC2 has its own). */
export const isAccessDenied = (error: unknown) => ['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation'].includes(awsErrorOf(error).name);

/**
 * A check that could not look, because IAM refused or the service failed: a warning, since the
 * deploy may well work; an error that is not AWS's (a bug of ours) is thrown on.
 */
export function couldNotLook(id: string, title: string, what: string, error: unknown, action?: string): CheckResult {
  const { name, message } = awsErrorOf(error);
  // AWS's answers carry $metadata, network failures a code; anything else is a bug of ours.
  const { $metadata, code } = (error ?? {}) as { $metadata?: unknown; code?: string };
  if (!$metadata && !code && !isAccessDenied(error)) throw error;
  return {
    id, title, status: 'warn', summary: `could not read ${what} (${name}: ${message})`,
    ...(isAccessDenied(error) && action ? { fix: [`allow ${action} (it is in docs/deployer-policy.json), or look in the AWS console`] } : {}),
  };
}
