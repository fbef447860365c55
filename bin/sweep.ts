#!/usr/bin/env node
import { createAwsClients } from '../lib/launcher/aws-clients';
import { sweepCloudCommand } from '../lib/launcher/sweep-cloud-command';
import { handleError } from '../trainer/src/cli/handle-error';
import { UserError } from '../trainer/src/user-error';
// TODO(lead): import { runLocalSweep } from '../trainer/src/sweep/local-sweep'; and call it in runLocally below.

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

async function runLocally(): Promise<unknown> {
  // TODO(lead): return runLocalSweep(argv);
  throw new UserError('the local sweep is not wired into bin/sweep.ts yet; use --cloud');
}

(cloud ? runCloud() : runLocally()).then(
  () => undefined,
  (error: unknown) => {
    process.exitCode = handleError(error);
  },
);
