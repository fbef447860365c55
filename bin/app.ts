#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { UserError } from '../trainer/src/user-error';
import { loadConfig } from '../lib/config';
import { probeDocker } from '../lib/docker-probe';
import { dockerMissingMessage, imagesBuiltLocally } from '../lib/local-image-builds';
import { addMalariaStacks } from '../lib/malaria-app';

const app = new App();
try {
  const config = loadConfig(app.node.getAllContext());
  // The CDK CLI sets these from the profile in use (the region defaults to us-east-1). The region
  // is needed (load balancer log delivery differs by region); without an account the trainer AMI
  // resolves at deploy time instead of being pinned in cdk.context.json.
  const region = process.env.CDK_DEFAULT_REGION ?? process.env.AWS_REGION;
  if (!region) throw new UserError('no AWS region: run the app through the CDK CLI (npx cdk synth) or set AWS_REGION');
  // A synth needs no Docker (CI, the tests), so this warns rather than stops; a deploy would stop
  // later on CDK's own words, which do not say which image or what else to do.
  if (imagesBuiltLocally(config.images).length) {
    const docker = probeDocker();
    const message = docker.available ? undefined : dockerMissingMessage(config.images, docker.problem);
    if (message) process.stderr.write(`warning: ${message}\n`);
  }
  addMalariaStacks(app, config, { account: process.env.CDK_DEFAULT_ACCOUNT, region });
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`error: ${error.message}\n`);
  process.exit(2);
}
