#!/usr/bin/env node
import { createAwsClients } from '../lib/launcher/aws-clients';
import { sweepCloudCommand } from '../lib/launcher/sweep-cloud-command';
import { handleError } from '../trainer/src/cli/handle-error';
import { runMain } from '../trainer/src/cli/main';

/** Flags that make `npm run sweep` the AWS launcher; without them the sweep runs on this machine. */
const CLOUD_FLAGS = ['--cloud', '--status', '--stop'];

const argv = process.argv;
const cloud = argv.slice(2).some((arg) => CLOUD_FLAGS.includes(arg.split('=')[0]));

function runCloud(): Promise<unknown> {
  const command = sweepCloudCommand({
    clients: createAwsClients,
    now: () => new Date(),
    print: (line) => process.stdout.write(`${line}\n`),
  });
  command.exitOverride();
  return command.parseAsync(argv);
}

if (cloud) {
  runCloud().then(
    () => undefined,
    (error: unknown) => {
      process.exitCode = handleError(error);
    },
  );
} else {
  // On this machine: the trainer's own sweep command (one cell after another).
  runMain([...argv.slice(0, 2), 'sweep', ...argv.slice(2)]);
}
