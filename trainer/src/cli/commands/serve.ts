import type { Command } from 'commander';
import { selectBackend } from '../../backend/select-backend';
import { loadServedModel } from '../../serve/load-served-model';
import { startModelServer } from '../../serve/model-server';
import { isLoopback, modelServerToken, parseServeOptions, ServeOptionsSchema, TOKEN_VARIABLE } from '../../serve/serve-options';
import { stopOnSignals } from '../../serve/stop-on-signals';
import { createMlflowClient } from '../../tracking/mlflow/create-tracker';
import { parseMlflowEnv } from '../../tracking/mlflow/env';
import { addSchemaOptions, typedOptions } from '../schema-options';

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} serve: ${line}\n`);
}

/** `serve`: answers MLflow scoring requests with a trained model until SIGTERM or Ctrl-C. */
export function registerServeCommand(program: Command): Command {
  const command = program
    .command('serve')
    .description('serve a trained model over HTTP: POST /invocations (MLflow scoring protocol), GET /health, /metadata, /metrics')
    .addHelpText('after', `\nEnvironment:\n  ${TOKEN_VARIABLE}  when set, every route but /health and /ping needs "Authorization: Bearer <token>"\n  MLFLOW_TRACKING_URI and the other MLflow variables, to load runs:/ and models:/ URIs`);
  addSchemaOptions(command, ServeOptionsSchema);
  command.action(async () => {
    const options = parseServeOptions(typedOptions(command, ServeOptionsSchema));
    const mlflow = parseMlflowEnv(process.env);
    const token = modelServerToken(process.env);
    if (!token && !isLoopback(options.host)) {
      log(`warning: listening on ${options.host} without ${TOKEN_VARIABLE}: anyone who can reach this port can score images`);
    }
    const backend = await selectBackend(options.backend, { threads: options.threads });
    log(`backend: ${backend.detail}`);
    const server = await startModelServer({
      host: options.host,
      port: options.port,
      basePath: options.basePath,
      maxBatch: options.maxBatch,
      batchWaitMs: options.batchWaitMs,
      maxBodyBytes: options.maxBodyMb * 1e6,
      maxImages: options.maxImages,
      drainMs: options.drainSeconds * 1000,
      token,
      load: () => loadServedModel(options.model, { mlflow: mlflow && createMlflowClient(mlflow), log }),
      log,
    });
    const stopped = stopOnSignals(server, log);
    try {
      // A signal during a long download stops the server without waiting for the model.
      await Promise.race([server.ready, stopped]);
    } catch (error) {
      await server.close();
      throw error;
    }
    // Stopped cleanly; the CLI entry then exits (the wasm worker threads would keep the process alive).
    await stopped;
  });
  return command;
}
