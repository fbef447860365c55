#!/usr/bin/env node
import { SSMClient } from '@aws-sdk/client-ssm';
import { createAwsClients, quietNodeVersionNotice } from '../lib/launcher/aws-clients';
import { cloudCheckCommand } from '../lib/launcher/cloud-check/cloud-check-command';
import { probeDocker } from '../lib/docker-probe';
import { handleError } from '../trainer/src/cli/handle-error';

quietNodeVersionNotice();
const command = cloudCheckCommand({
  clients: createAwsClients,
  docker: () => probeDocker(),
  // The CDK app (aws-cdk-lib, cdk-nag) loads only once there are credentials to check against.
  synth: async (...args) => (await import('../lib/launcher/cloud-check/synth-facts')).synthFacts(...args),
  // The SDK resolves the profile's region the way the AWS CLI does; it rejects when none is set.
  profileRegion: () => new SSMClient({}).config.region().catch(() => undefined),
  env: process.env,
  print: (line) => process.stdout.write(`${line}\n`),
  setExitCode: (code) => {
    process.exitCode = code;
  },
});
command.exitOverride();
command.parseAsync(process.argv).then(
  () => undefined,
  (error: unknown) => {
    process.exitCode = handleError(error);
  },
);
