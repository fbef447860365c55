import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { parseTrainConfig, TrainConfigSchema } from '../../config';
import { UserError } from '../../user-error';
import { listModels } from '../../models/registry';
import { selectBackend } from '../../backend/select-backend';
import { watchSpotInterruption } from '../../cloud/instance-metadata';
import { createCheckpointStore } from '../../cloud/checkpoint-store';
import { withCloudTelemetry } from '../../cloud/run-telemetry';
import { runTraining } from '../../pipeline/run-training';
import { trackingFromEnv } from '../../tracking/run-tracking';
import { StopRequests } from '../../train/stop-requests';
import { terminalProgress } from '../../train/progress';
import { addSchemaOptions, typedOptions } from '../schema-options';

/** `train`: every option of the config schema, plus `--config` and `--list-models`. */
export function registerTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description('train a malaria cell classifier and record the run (in MLflow too when MLFLOW_TRACKING_URI is set)')
    .option('--config <file.json>', 'read options from a JSON file; flags on the command line win')
    .option('--list-models', 'list the model names with their parameter counts, then exit');
  addSchemaOptions(command, TrainConfigSchema);
  command.action(async (_opts, cmd: Command) => {
    const fromFile = cmd.opts().config ? await readConfigFile(cmd.opts().config) : {};
    const config = parseTrainConfig({ ...fromFile, ...typedOptions(cmd, TrainConfigSchema) });
    if (cmd.opts().listModels) {
      // Building a model to count its parameters needs a backend.
      await selectBackend('auto');
      printModelTable(config.imageSize);
      return;
    }
    // The command's edge: the backend, tracking and checkpoints are chosen here, then handed in.
    const tracking = trackingFromEnv(process.env, config);
    // A GPU run also logs its GPUs' readings, GPU time and cost.
    const openTracking = config.requireGpu ? withCloudTelemetry(tracking, { log: logLine }) : tracking;
    const backend = await selectBackend(config.backend, { threads: config.threads });
    const checkpoints = config.checkpointUri ? createCheckpointStore(config.checkpointUri) : undefined;
    const stop = new StopRequests(() => process.exit(130));
    const requestStop = (what: string) => {
      process.stderr.write(stop.signal.aborted
        ? `\n${what}: quitting at once (second stop request)\n`
        : `\n${what}: stopping after this step and saving the best model so far (again to quit at once)\n`);
      stop.request();
    };
    const onSignal = (signal: NodeJS.Signals) => requestStop(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // On a spot instance the two-minute notice comes through the metadata service, not as a signal;
    // off EC2 the first poll finds no service and polling ends.
    const stopWatching = checkpoints
      ? watchSpotInterruption((action) => requestStop(`spot interruption (${action})`))
      : () => undefined;
    try {
      const outcome = await runTraining(config, {
        backend, progress: terminalProgress(), stop, env: process.env, log: logLine, checkpoints, openTracking,
      });
      // The last line is the run folder, so scripts can `dir=$(npm run -s train ...)`.
      process.stdout.write(`${outcome.runDir}\n`);
      if (outcome.status === 'KILLED') process.exitCode = 130;
      else if (outcome.unsynced) process.exitCode = 1;
    } finally {
      stopWatching();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}

function logLine(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new UserError(`--config: cannot read '${file}'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UserError(`--config: '${file}' is not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UserError(`--config: '${file}' must hold a JSON object of options, e.g. {"epochs": 5}`);
  }
  // Accept the flag spelling too: {"batch-size": 32} means {"batchSize": 32}.
  return Object.fromEntries(
    Object.entries(parsed).map(([key, value]) => [key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()), value]),
  );
}

function printModelTable(inputSize: number): void {
  const rows = listModels(inputSize);
  const width = Math.max(...rows.map((r) => r.name.length));
  process.stdout.write(`models at ${inputSize}x${inputSize}x3 input:\n`);
  for (const row of rows) {
    const params = row.params === null ? `needs >= ${row.minInputSize} px` : `${row.params.toLocaleString('en-US')} params`;
    process.stdout.write(`  ${row.name.padEnd(width)}  ${params.padStart(18)}  ${row.summary}\n`);
  }
}
