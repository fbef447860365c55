import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { type ContextEntry, type EvaluationResult, GetRoleCommand, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { awsErrorOf, couldNotLook, isAccessDenied } from './aws-errors';
import type { Identity } from './credentials-check';
import { PROJECT_ROOT } from './deploy-context';

const TITLE = 'permissions';
export const DEPLOYER_POLICY_FILE = 'docs/deployer-policy.json';
/** What `cdk deploy` itself needs of the caller: to assume the bootstrap roles. */
const DEPLOY_ACTION = 'sts:AssumeRole';

interface Statement {
  readonly Sid?: string;
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

const list = (value: string | readonly string[]): string[] => (typeof value === 'string' ? [value] : [...value]);

export function readDeployerPolicy(root = PROJECT_ROOT): { readonly Statement: readonly Statement[] } {
  return JSON.parse(readFileSync(path.join(root, DEPLOYER_POLICY_FILE), 'utf8'));
}

/** The caller as IAM policies are attached to it. */
export type Principal =
  | { readonly kind: 'user' | 'role'; readonly name: string }
  | { readonly kind: 'root' }
  | { readonly kind: 'other' };

export function principalOf(arn: string): Principal {
  const user = /^arn:aws[a-z-]*:iam::\d{12}:user\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (user) return { kind: 'user', name: user[1] };
  const role = /^arn:aws[a-z-]*:sts::\d{12}:assumed-role\/([^/]+)\/.+$/.exec(arn);
  if (role) return { kind: 'role', name: role[1] };
  if (/^arn:aws[a-z-]*:iam::\d{12}:root$/.test(arn)) return { kind: 'root' };
  return { kind: 'other' };
}

/**
 * A concrete resource for a statement's pattern, for the simulation: the caller's account where
 * the pattern leaves it open, a placeholder name for every other wildcard.
 */
export function sampleResource(pattern: string, account: string): string {
  return pattern === '*' ? '*' : pattern.replace(/^(arn:[^:]+:[^:]+:[^:]*:)\*:/, `$1${account}:`).replace(/\*/g, 'cloud-check');
}

/** The condition keys a statement tests, with values it accepts, so the simulation can meet them. */
function contextEntries(statement: Statement): ContextEntry[] {
  return Object.values(statement.Condition ?? {}).flatMap((keys) => Object.entries(keys).map(([key, values]) => ({
    ContextKeyName: key, ContextKeyType: 'string', ContextKeyValues: list(values).map((v) => v.replace(/\*/g, 'cloud-check')),
  })));
}

/** How to give the caller the policy, or who can. */
function attachFix(principal: Principal): string[] {
  const policy = `--policy-name malaria-mlops-deployer --policy-document file://${DEPLOYER_POLICY_FILE}`;
  const why = `the policy is ${DEPLOYER_POLICY_FILE}, explained in docs/cloud.md, "What the deploying user may do"`;
  if (principal.kind === 'user') return [`an administrator runs: aws iam put-user-policy --user-name ${principal.name} ${policy}`, why];
  if (principal.kind === 'role' && principal.name.startsWith('AWSReservedSSO_')) {
    return [`ask whoever runs IAM Identity Center to add ${DEPLOYER_POLICY_FILE} to your permission set as an inline policy (roles named AWSReservedSSO_… cannot be changed in IAM)`, why];
  }
  if (principal.kind === 'role') return [`an administrator runs: aws iam put-role-policy --role-name ${principal.name} ${policy}`, why];
  return [why];
}

/**
 * Simulates every action of the deployer policy, statement by statement with a resource of each
 * statement's shape, against the caller's own policies (iam:SimulatePrincipalPolicy), and names
 * what is denied.
 */
export async function checkPermissions(clients: AwsClients, identity: Identity, policy = readDeployerPolicy()): Promise<CheckResult> {
  const principal = principalOf(identity.arn);
  if (principal.kind === 'root') {
    return { id: 'permissions', title: TITLE, status: 'warn', summary: 'the account\'s root user may do everything, and AWS advises against working as it', fix: [`deploy as a user or role with ${DEPLOYER_POLICY_FILE}`] };
  }
  if (principal.kind === 'other') {
    return { id: 'permissions', title: TITLE, status: 'warn', summary: `${identity.arn} cannot be simulated (only IAM users and roles can); not checked`, fix: attachFix(principal) };
  }
  let source: string;
  try {
    source = principal.kind === 'user'
      ? identity.arn
      : (await clients.iam.send(new GetRoleCommand({ RoleName: principal.name }))).Role?.Arn ?? '?';
  } catch (error) {
    return couldNotLook('permissions', TITLE, `role ${principal.name}, to simulate its permissions`, error, 'iam:GetRole');
  }
  const results: Array<EvaluationResult & { sid: string }> = [];
  try {
    for (const statement of policy.Statement) {
      let Marker: string | undefined;
      do {
        const page = await clients.iam.send(new SimulatePrincipalPolicyCommand({
          PolicySourceArn: source,
          ActionNames: list(statement.Action),
          ResourceArns: list(statement.Resource).map((r) => sampleResource(r, identity.account)),
          ContextEntries: contextEntries(statement),
          ...(Marker ? { Marker } : {}),
        }));
        results.push(...(page.EvaluationResults ?? []).map((r) => ({ ...r, sid: statement.Sid ?? '' })));
        Marker = page.IsTruncated ? page.Marker : undefined;
      } while (Marker);
    }
  } catch (error) {
    if (isAccessDenied(error) || awsErrorOf(error).name === 'NoSuchEntity') {
      return couldNotLook('permissions', TITLE, `what ${identity.arn} may do`, error, 'iam:SimulatePrincipalPolicy on yourself');
    }
    throw error;
  }
  const denied = results.filter((r) => r.EvalDecision !== 'allowed');
  const actions = [...new Set(results.map((r) => r.EvalActionName))];
  if (!denied.length) return { id: 'permissions', title: TITLE, status: 'pass', summary: `all ${actions.length} actions of ${DEPLOYER_POLICY_FILE} allowed` };
  const named = [...new Set(denied.map((r) => `${r.EvalActionName} (${r.sid}${r.EvalDecision === 'explicitDeny' ? ', denied explicitly' : ''})`))];
  // Only the bootstrap roles stand between the caller and a deploy; the rest are the launchers' calls.
  const deployDenied = denied.some((r) => r.EvalActionName === DEPLOY_ACTION);
  return {
    id: 'permissions', title: TITLE, status: deployDenied ? 'fail' : 'warn',
    summary: `${named.length} of the ${actions.length} actions of ${DEPLOYER_POLICY_FILE} denied to ${identity.arn}: ${named.join(', ')}`
      + (deployDenied ? '; cdk deploy cannot assume the bootstrap roles' : '; cdk deploy works, the launchers that make these calls will not'),
    fix: attachFix(principal),
  };
}
