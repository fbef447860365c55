import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { experimentRunIds, readMlflowRun, readMlflowRuns } from '../../compare/mlflow-runs';
import { readRunFolders, type RunSummary } from '../../compare/run-summary';
import { compareRuns } from '../../compare/write-comparison';
import { timestamp, uniqueDir } from '../../pipeline/set-up-run';
import { createMlflowClient, parseMlflowEnv, type MlflowClient } from '../../tracking/mlflow';
import { RUN_RECORD_FILE } from '../../tracking/run-folder';
import { UserError } from '../../user-error';
import { checkWritableFolder } from '../../writable-folder';

const RUN_URI = /^runs:\/([0-9a-f]{32})\/?$/;

/** `compare`: a comparison report of run folders, MLflow runs and MLflow experiments. */
export function registerCompareCommand(program: Command): void {
  program
    .command('compare')
    .description('compare runs: metrics with intervals, overlaid ROC and learning curves, parameter differences')
    .argument('<runs...>', 'run folders, runs:/<run_id>, or MLflow experiment names (their finished runs); a cross-validation\'s or sweep\'s folder or parent run stands for its runs')
    .option('--out <folder>', 'where the comparison folder goes', 'runs')
    .option('--title <text>', 'the report\'s title', 'Comparison')
    .action(async (sources: string[], opts: { out: string; title: string }) => {
      await checkWritableFolder(opts.out, { flag: '--out' });
      const folder = uniqueDir(join(opts.out, `${timestamp(new Date())}-comparison`));
      const runs = (await Promise.all(sources.map((source) => readSource(source, folder)))).flat();
      if (runs.length < 2) throw new UserError(`compare needs at least two runs; ${sources.join(' ')} gave ${runs.length}`);
      const { report, warnings } = await compareRuns(folder, runs, { title: opts.title });
      for (const warning of warnings) process.stderr.write(`warning: ${warning}\n`);
      process.stderr.write(`compared ${runs.length} runs\n`);
      process.stdout.write(`${report}\n`);
    });
}

let client: MlflowClient | undefined;

async function readSource(source: string, folder: string): Promise<RunSummary[]> {
  if (existsSync(join(source, RUN_RECORD_FILE))) return readRunFolders(source);
  if (existsSync(source)) throw new UserError(`${source} is not a run folder (it has no ${RUN_RECORD_FILE}); give a folder that a training printed last`);
  client ??= mlflowClient(source);
  const cache = join(folder, '.mlflow-runs');
  const run = RUN_URI.exec(source);
  if (run) return readMlflowRuns(client, run[1], cache);
  if (source.startsWith('runs:/')) throw new UserError(`${source}: expected runs:/<32 hex digits of a run id>`);
  const ids = await experimentRunIds(client, source);
  if (!ids.length) throw new UserError(`MLflow experiment '${source}' has no finished runs`);
  return Promise.all(ids.map((id) => readMlflowRun(client as MlflowClient, id, cache)));
}

function mlflowClient(source: string): MlflowClient {
  const settings = parseMlflowEnv(process.env);
  if (!settings) {
    throw new UserError(`${source} is neither a run folder nor reachable without MLflow: for runs:/<id> or an experiment name, set MLFLOW_TRACKING_URI`);
  }
  return createMlflowClient(settings);
}
