/** One line of `npm run cloud:check`: what was looked at, what was found, and what to do about it. */
export interface CheckResult {
  readonly id: string;
  readonly title: string;
  /** fail stops a deploy (exit 1); warn is worth knowing and does not; info is no check at all (costs, notices). */
  readonly status: 'pass' | 'warn' | 'fail' | 'info';
  readonly summary: string;
  /** The exact fix: commands, console links, how long it takes. */
  readonly fix?: readonly string[];
}

export interface CheckReport {
  readonly readOnly: true;
  readonly ok: boolean;
  readonly envName?: string;
  readonly account?: string;
  readonly region?: string;
  readonly checks: readonly CheckResult[];
}

const LABEL: Record<CheckResult['status'], string> = { pass: 'ok', warn: 'warn', fail: 'FAIL', info: 'info' };

export const READ_ONLY_NOTICE = 'read-only: it looks, and creates or changes nothing';

export function report(checks: readonly CheckResult[], where: Pick<CheckReport, 'envName' | 'account' | 'region'>): CheckReport {
  return { readOnly: true, ok: !checks.some((c) => c.status === 'fail'), ...where, checks };
}

/** The report as people read it: one line per check, its fix indented below it, a verdict at the end. */
export function renderReport(result: CheckReport): string[] {
  const width = Math.max(...result.checks.map((c) => c.title.length));
  const lines = result.checks.flatMap((check) => [
    `  ${LABEL[check.status].padEnd(4)}  ${check.title.padEnd(width)}  ${check.summary}`,
    ...(check.fix ?? []).map((line, i) => `${' '.repeat(width + 10)}${i === 0 ? 'fix: ' : '     '}${line}`),
  ]);
  const failed = result.checks.filter((c) => c.status === 'fail').length;
  const env = result.envName ? ` -c env=${result.envName}` : '';
  lines.push(failed
    ? `${failed} check${failed === 1 ? '' : 's'} failed: a deploy would stop on ${failed === 1 ? 'it' : 'them'}. Fix ${failed === 1 ? 'it' : 'them'}, then run npm run cloud:check again.`
    : `nothing stands in the way: npx cdk deploy --all${env}`);
  return lines;
}
