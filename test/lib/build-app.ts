import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadConfig } from '../../lib/config';
import { addMalariaStacks, type MalariaStacks } from '../../lib/malaria-app';

export interface BuiltApp {
  readonly app: App;
  readonly stacks: MalariaStacks;
  readonly tracking: Template;
  readonly training: Template;
}

export const TEST_REGION = 'eu-west-1';

/**
 * Builds and synthesizes the app for one configuration, as `cdk synth` would from this context.
 * cdk-nag runs during synthesis and throws on any unacknowledged finding, so every test built on
 * this also checks that. CloudFormation's own template validation is off (it takes seconds to
 * start); test/lib/validation.test.ts runs it.
 */
export function buildApp(
  context: Record<string, unknown> = {},
  options: {
    env?: Environment;
    appContext?: Record<string, unknown>;
    cfnValidation?: boolean;
    /** Changes the stacks before synthesis (to show that a check can fail). */
    beforeSynth?: (stacks: MalariaStacks) => void;
  } = {},
): BuiltApp {
  const app = new App({
    context: { 'aws:cdk:disable-stack-trace': true, 'aws:cdk:disable-asset-staging': true, ...options.appContext, ...context },
    builtinCloudFormationValidation: options.cfnValidation ?? false,
  });
  const stacks = addMalariaStacks(app, loadConfig(context), options.env ?? { region: TEST_REGION });
  options.beforeSynth?.(stacks);
  app.synth();
  return { app, stacks, tracking: Template.fromStack(stacks.tracking), training: Template.fromStack(stacks.training) };
}
