import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '../..');
const policy = JSON.parse(readFileSync(path.join(ROOT, 'docs/deployer-policy.json'), 'utf8')) as { Statement: Array<{ Action: string | string[] }> };
const allowed = new Set(policy.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])));

/** IAM's service prefix of each AWS SDK client package the launchers use. */
const SERVICE_PREFIX: Record<string, string> = {
  'client-auto-scaling': 'autoscaling', 'client-cloudformation': 'cloudformation', 'client-ssm': 'ssm', 'client-ecs': 'ecs', 'client-rds': 'rds',
  'client-batch': 'batch', 'client-sfn': 'states',
};

test('docs/deployer-policy.json allows every AWS call that train:cloud, sweep --cloud, cloud:sleep and cloud:wake make', () => {
  const dir = path.join(ROOT, 'lib/launcher');
  const actions = readdirSync(dir).flatMap((file) => {
    const source = readFileSync(path.join(dir, file), 'utf8');
    return [...source.matchAll(/import \{([^}]+)\} from '@aws-sdk\/([\w-]+)'/g)].flatMap(([, names, pkg]) => names.split(',')
      .map((name) => name.trim()).filter((name) => /^\w+Command$/.test(name))
      .map((name) => {
        expect(SERVICE_PREFIX).toHaveProperty([pkg]);
        return `${SERVICE_PREFIX[pkg]}:${name.replace(/Command$/, '')}`;
      }));
  });
  expect(actions.length).toBeGreaterThan(8);
  for (const action of actions) expect([action, allowed.has(action)]).toEqual([action, true]);
});
