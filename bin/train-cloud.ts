#!/usr/bin/env node
import { createAwsClients } from '../lib/launcher/aws-clients';
import { trainCloudCommand } from '../lib/launcher/train-cloud-command';
import { handleError } from '../trainer/src/cli/handle-error';

const command = trainCloudCommand({
  clients: createAwsClients,
  now: () => new Date(),
  print: (line) => process.stdout.write(`${line}\n`),
});
command.exitOverride();
command.parseAsync(process.argv).then(
  () => undefined,
  (error: unknown) => {
    process.exitCode = handleError(error);
  },
);
