import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildApp } from './build-app';

const CONFIGURATIONS: Array<[string, Record<string, unknown>]> = [
  ['the defaults', {}],
  ['public HTTPS access, data kept, the model served', {
    allowedCidrs: ['203.0.113.0/24'], retainData: true, serve: true, domainName: 'mlflow.example.com',
    certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
  }],
  ['the whole internet on HTTP, confirmed', { allowedCidrs: ['0.0.0.0/0'], openToInternet: true }],
  ['spot, no run on deploy, the model served, another environment', { env: 'alice', spot: true, trainOnDeploy: false, serve: true }],
  ['images built by CodeBuild, runs on deploy, e-mailed outcomes, the model served', { imageBuild: 'codebuild', trainOnDeploy: true, notifyEmail: 'team@example.com', serve: true }],
  ['prebuilt images', {
    trainerImage: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'a'.repeat(64)}`, mlflowImage: `ghcr.io/acme/mlflow@sha256:${'b'.repeat(64)}`,
  }],
];

describe('cdk-nag AwsSolutions', () => {
  test.each(CONFIGURATIONS)('%s: no finding is left unacknowledged', (_name, context) => {
    expect(() => buildApp(context)).not.toThrow();
  });

  // buildApp leaves out cdk.json's feature flags; `cdk synth` applies them, and some change grants
  // (an imported KMS alias, for one). The new configurations are checked as the CLI builds them too.
  const cdkJsonFlags = Object.fromEntries(Object.entries(JSON.parse(readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context as Record<string, unknown>)
    .filter(([key]) => key.includes(':')));
  test.each([CONFIGURATIONS[0], CONFIGURATIONS[4], CONFIGURATIONS[5]])('%s, under cdk.json\'s feature flags: no finding is left unacknowledged', (_name, context) => {
    expect(() => buildApp(context, { appContext: cdkJsonFlags })).not.toThrow();
  });

  test('is really checking: an unacknowledged finding fails the synth', () => {
    expect(() => buildApp({}, { beforeSynth: (stacks) => void new s3.Bucket(stacks.tracking, 'Unchecked') }))
      .toThrow(/AwsSolutions-S1|AwsSolutions-S10/);
  });

  test('every acknowledgement gives its reason', () => {
    const { app } = buildApp(CONFIGURATIONS[3][1]);
    const acknowledgements = app.node.findAll().flatMap((construct) => construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) => Object.entries(entry.data as Record<string, string>)))
      // Stored as Annotation::<id>; CDK also acknowledges a few rules of its own template validation.
      .map(([key, reason]) => [key.replace(/^annotation::/i, ''), reason])
      .filter(([id]) => id.startsWith('AwsSolutions-'));
    expect(acknowledgements.length).toBeGreaterThan(10);
    for (const [id, reason] of acknowledgements) {
      expect(`${id}: ${reason}`).toMatch(/^AwsSolutions-[A-Z0-9]+(\[.+\])?: \S.{29,}/);
    }
  });
});

describe('CloudFormation template validation', () => {
  test.each([CONFIGURATIONS[0], CONFIGURATIONS[1], CONFIGURATIONS[4]])('%s: the templates pass, errors made fatal', (_name, context) => {
    expect(() => buildApp(context, { cfnValidation: true, appContext: { '@aws-cdk/core:strictCfnValidateErrors': true } })).not.toThrow();
  });

  test('is really checking: a dependency cycle fails the synth', () => {
    const cycle = () => buildApp({}, {
      cfnValidation: true,
      appContext: { '@aws-cdk/core:strictCfnValidateErrors': true },
      beforeSynth: ({ training }) => {
        const group = training.node.findAll().find((c) => c.node.id === 'ASG')!;
        const template = training.node.findAll().find((c) => c.node.id === 'LaunchTemplate')!;
        template.node.addDependency(group);
      },
    });
    expect(cycle).toThrow(/ircular/);
  });
});
