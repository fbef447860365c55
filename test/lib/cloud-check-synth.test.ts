import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { loadConfig, TRAINER_AMI_PARAMETER } from '../../lib/config';
import { idleCost, IDLE_USD_PER_MONTH, SLEEP_SAVES_USD_PER_MONTH } from '../../lib/idle-costs';
import { availabilityZonesKey, deployContext, ssmParameterKey } from '../../lib/launcher/cloud-check/deploy-context';
import { synthFacts } from '../../lib/launcher/cloud-check/synth-facts';
import { ACCOUNT, REGION } from './sweep-aws-responses';

const env = { account: ACCOUNT, region: REGION };

describe('what cloud:check learns from a synth of the app', () => {
  test('a first deploy, nothing recorded yet: bootstrap version 8, for the lookups of the zones and the AMI through the lookup role', () => {
    const context = deployContext([], undefined, { home: '/nonexistent' });
    const facts = synthFacts(context, loadConfig(context), env);
    expect(facts).toEqual({
      requiredBootstrapVersion: 8,
      requiredBy: 'its lookups (availability-zones, ssm) through the lookup role',
      bootstrapVersionParameter: '/cdk-bootstrap/hnb659fds/version',
      warnings: [],
    });
  });

  test('with the lookups recorded in cdk.context.json: version 6 will do; the warnings a deploy prints come along', () => {
    const context = {
      ...deployContext(['trainOnDeploy=true'], undefined, { home: '/nonexistent' }),
      [availabilityZonesKey(ACCOUNT, REGION)]: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'],
      [ssmParameterKey(ACCOUNT, REGION, TRAINER_AMI_PARAMETER)]: 'ami-0a1b2c3d4e5f60718',
    };
    const facts = synthFacts(context, loadConfig(context), env);
    expect(facts.requiredBootstrapVersion).toBe(6);
    expect(facts.requiredBy).toBe('its deploy roles and assets');
    expect(facts.warnings).toEqual([expect.stringMatching(/^trainOnDeploy=true: this deploy starts a paid GPU run/)]);
  });
});

describe('deployContext', () => {
  test('reads cdk.json as cdk deploy does, -c values over it, --env as -c env', () => {
    const context = deployContext(['instanceType=g5.xlarge', 'trainOptions={"a":1}'], 'alice', { home: '/nonexistent' });
    expect(context).toMatchObject({ env: 'alice', instanceType: 'g5.xlarge', trainOptions: '{"a":1}', sweepMaxInstances: 4, '@aws-cdk/core:checkSecretUsage': true });
  });

  test('--env and -c env that disagree are refused', () => {
    expect(() => deployContext(['env=bob'], 'alice')).toThrow('--env alice and -c env=bob disagree: give one of them');
  });
});

test('the idle costs cloud:check quotes are the figures of docs/cloud.md', () => {
  const docs = readFileSync(path.join(__dirname, '../../docs/cloud.md'), 'utf8');
  const money = (value: number) => `$${value.toFixed(2)}`;
  expect(docs).toContain(`| **total** | **about $${IDLE_USD_PER_MONTH.environment}** |`);
  expect(docs).toContain(`| +${money(IDLE_USD_PER_MONTH.publicAccess)} |`);
  expect(docs).toContain(`| +${money(IDLE_USD_PER_MONTH.modelServer)} |`);
  expect(docs).toContain(`that is ${money(SLEEP_SAVES_USD_PER_MONTH.environment)})`);
  expect(docs).toContain(`\`serve\`, ${money(SLEEP_SAVES_USD_PER_MONTH.modelServer)} more is saved`);
  expect(idleCost({ allowedCidrs: [], serve: false })).toEqual({ awake: 73, sleepingNights: 73 - 36.1 });
  expect(idleCost({ allowedCidrs: ['203.0.113.7/32'], serve: true }).awake).toBeCloseTo(143.4);
});
