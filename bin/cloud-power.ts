#!/usr/bin/env node
import { createAwsClients } from '../lib/launcher/aws-clients';
import { powerCommand } from '../lib/launcher/power-command';
import { handleError } from '../trainer/src/cli/handle-error';

// `npm run cloud:sleep` runs `cloud-power.ts sleep`, `npm run cloud:wake` runs `cloud-power.ts wake`.
const [action, ...args] = process.argv.slice(2);
const command = powerCommand(action === 'wake' ? 'wake' : 'sleep', {
  clients: createAwsClients,
  print: (line) => process.stdout.write(`${line}\n`),
});
command.exitOverride();
command.parseAsync(args, { from: 'user' }).then(
  () => undefined,
  (error: unknown) => {
    process.exitCode = handleError(error);
  },
);
