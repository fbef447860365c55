/**
 * Enough of IAM's evaluation of one identity policy to check docs/deployer-policy.json against the
 * requests the launchers make: Allow and Deny statements, `*` and `?` in actions (any case) and
 * resources, and the StringLike / StringEquals conditions the policy uses. Anything else in a
 * condition is an error here rather than a silent allow.
 */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

export interface Policy {
  readonly Statement: readonly PolicyStatement[];
}

/** One authorization IAM makes: an action on a resource, with the request's condition keys. */
export interface AuthRequest {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string>>;
}

const list = (value: string | readonly string[]): readonly string[] => (typeof value === 'string' ? [value] : value);

function wildcard(pattern: string, caseInsensitive: boolean): RegExp {
  const body = pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/-]/g, '\\$&'))).join('');
  return new RegExp(`^${body}$`, caseInsensitive ? 'i' : '');
}

function conditionHolds(condition: PolicyStatement['Condition'], context: Readonly<Record<string, string>>): boolean {
  return Object.entries(condition ?? {}).every(([operator, keys]) => Object.entries(keys).every(([key, values]) => {
    const actual = context[key];
    // A key the request does not carry fails a condition on it, as in IAM.
    if (actual === undefined) return false;
    if (operator === 'StringLike') return list(values).some((v) => wildcard(v, false).test(actual));
    if (operator === 'StringEquals') return list(values).includes(actual);
    throw new Error(`condition operator ${operator} is not modelled by test/lib/policy-evaluator.ts`);
  }));
}

function matches(statement: PolicyStatement, request: AuthRequest): boolean {
  return list(statement.Action).some((a) => wildcard(a, true).test(request.action))
    && list(statement.Resource).some((r) => wildcard(r, false).test(request.resource))
    && conditionHolds(statement.Condition, request.context ?? {});
}

/** IAM's answer for one request under this policy alone: an explicit Deny wins, else an Allow, else denied. */
export function isAllowed(policy: Policy, request: AuthRequest): boolean {
  const matching = policy.Statement.filter((s) => matches(s, request));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}
