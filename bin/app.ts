#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { UserError } from '../trainer/src/user-error';
import { loadConfig } from '../lib/config';
import { addMalariaStacks } from '../lib/malaria-app';

const app = new App();
try {
  const config = loadConfig(app.node.getAllContext());
  // The CDK CLI sets these from the profile in use (the region defaults to us-east-1). The region
  // is needed (load balancer log delivery differs by region); without an account the trainer AMI
  // resolves at deploy time instead of being pinned in cdk.context.json.
  const region = process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION;
  if (!region) throw new UserError('no AWS region: run the app through the CDK CLI (npx cdk synth) or set AWS_REGION');
  addMalariaStacks(app, config, { account: process.env.CDK_DEFAULT_ACCOUNT, region });
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(2);
}
