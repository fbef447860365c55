import { Command } from 'commander';
import { parseTrainConfig, TrainConfigSchema, type TrainConfig } from '../../config';
import { runTraining } from '../../pipeline/run-training';
import { MODEL_NAMES } from '../../models/registry';
import { checkFolds } from '../../sweep/cross-validation';
import { expandGrid, type SweepCell } from '../../sweep/grid';
import { addGridOptions, gridFromOptions } from '../../sweep/grid-options';
import { cellOf, cellRunName, planSweep, sweepFolder, type PlannedCell, type SweepPlan } from '../../sweep/plan';
import { failedMembers, memberTags, runGroup, type Group } from '../../sweep/run-group';
import { UserError } from '../../user-error';
import { describeSweep, finishCloudSweep, sharedOptions, startCloudSweep } from '../../sweep/cloud-steps';
import { optionParams } from '../../pipeline/run-training';
import { addSchemaOptions, typedOptions } from '../schema-options';
import { atTrainingEdge, logLine } from '../training-edge';

/**
 * `sweep`: a grid of trainings run one after another on this machine, as child runs of one parent,
 * then compared (`npm run sweep -- --cloud` runs the same grid on AWS Batch: lib/launcher). Also the
 * three steps a cloud sweep's jobs run in the trainer image: `sweep-start`, `sweep-cell`, `sweep-finish`.
 */
export function registerSweepCommands(program: Command): void {
  const sweep = program
    .command('sweep')
    .description('train a grid of models one after another on this machine and compare them (--cloud: on AWS Batch)')
    .option('--dry-run', 'print the cells, then exit')
    .addHelpText('after', '\nOn AWS Batch, the same grid side by side on GPU instances: npm run sweep -- --cloud [--env <name>] <grid>;'
      + '\nthen --status <sweep-id> or --stop <sweep-id>. Their options: npm run sweep -- --cloud --help');
  addGridOptions(sweep);
  sweep.action(async (_opts, cmd: Command) => {
    const cells = expandGrid(gridFromOptions(cmd));
    refuseUnknownModels(cells);
    const plan = planSweep(cells);
    if (cmd.opts().dryRun) {
      process.stdout.write(`${plan.sweepId}: ${cells.length} training${cells.length === 1 ? '' : 's'}, one after another on this machine\n`);
      for (const cell of plan.cells) process.stdout.write(`  ${String(cell.index + 1).padStart(3)}  ${cell.name}\n`);
      return;
    }
    const first = cells[0].config;
    await atTrainingEdge(first, async (deps) => {
      for (const config of distinctFoldPlans(cells)) await checkFolds(config, deps.log);
      const group = sweepGroup(plan, first.out);
      await sweepFolder(`${group.out}/${group.name}`).writePlan(plan);
      const outcome = await runGroup(group, deps);
      return { status: outcome.status, folder: outcome.comparison.report, unsynced: outcome.unsynced, failed: failedMembers(outcome) };
    }, cells.map((cell) => cell.config));
  });

  program
    .command('sweep-start')
    .description('(in a cloud sweep\'s first job) start the sweep\'s parent run in MLflow and note it beside the plan')
    .requiredOption('--plan <uri>', 'the sweep\'s folder (s3://bucket/sweeps/<id>/) or its plan.json')
    .action(async (opts: { plan: string }) => {
      process.stdout.write(`${await startCloudSweep(planFolder(opts.plan), process.env)}\n`);
    });

  const cell = program
    .command('sweep-cell')
    .description('(in a cloud sweep\'s array job) train the plan\'s cell AWS_BATCH_JOB_ARRAY_INDEX as a child of the sweep\'s run')
    .requiredOption('--plan <uri>', 'the sweep\'s folder (s3://bucket/sweeps/<id>/) or its plan.json')
    .option('--index <n>', 'the cell to train, 0-based (default: AWS_BATCH_JOB_ARRAY_INDEX)', (raw) => Number(raw));
  addSchemaOptions(cell, TrainConfigSchema);
  cell.action(async (opts: { plan: string; index?: number }, cmd: Command) => {
    const folder = sweepFolder(planFolder(opts.plan));
    const plan = await folder.readPlan();
    const planned = cellOf(plan, opts.index, process.env);
    const parent = await folder.readParent();
    const config = cellConfig(planned, typedOptions(cmd, TrainConfigSchema));
    await atTrainingEdge(config, async (deps) => {
      const outcome = await runTraining(config, {
        ...deps,
        member: {
          runName: cellRunName(planned),
          folder: `${config.out}/${plan.sweepId}`,
          parentRunId: parent?.runId,
          tags: memberTags(plan.sweepId, planned),
        },
      });
      return { status: outcome.status, folder: outcome.runDir, unsynced: outcome.unsynced };
    });
  });

  program
    .command('sweep-finish')
    .description('(in a cloud sweep\'s last job) compare the cells\' runs and log the comparison to the sweep\'s run')
    .requiredOption('--plan <uri>', 'the sweep\'s folder (s3://bucket/sweeps/<id>/) or its plan.json')
    .option('--out <folder>', 'where the comparison is written before it goes to MLflow', 'runs')
    .action(async (opts: { plan: string; out: string }) => {
      process.stdout.write(`${await finishCloudSweep(planFolder(opts.plan), opts.out, process.env, logLine)}\n`);
    });
}

/** The group a local sweep runs: its cells, each in a folder of the sweep's, checkpointing apart when asked to. */
export function sweepGroup(plan: SweepPlan, out: string): Group {
  return {
    kind: 'sweep',
    name: plan.sweepId,
    out,
    description: describeSweep(plan),
    params: { ...optionParams(sharedOptions(plan)), cells: plan.cells.length },
    members: plan.cells.map((planned) => ({
      name: planned.name,
      runName: cellRunName(planned),
      config: cellConfig(planned, {}),
      varied: planned.varied,
    })),
  };
}

/** The cell's options with what the runner adds (flags of sweep-cell), its checkpoints in a folder of its own. */
function cellConfig(planned: PlannedCell, extra: Readonly<Record<string, unknown>>) {
  const options: Record<string, unknown> = { ...planned.options, ...extra };
  if (typeof options.checkpointUri === 'string') options.checkpointUri = `${options.checkpointUri.replace(/\/+$/, '')}/${planned.index}`;
  return parseTrainConfig(options);
}

/** The model names are the registry's, which the option schema cannot know without loading TF.js: checked here for every cell at once. */
function refuseUnknownModels(cells: readonly SweepCell[]): void {
  const unknown = cells.filter((cell) => !MODEL_NAMES.includes(cell.config.model));
  if (!unknown.length) return;
  throw new UserError(`the sweep has invalid cells:\n${unknown.map((cell) => `  cell ${cell.index + 1} (${cell.name}): --model: `
    + `unknown model "${cell.config.model}"; use one of ${MODEL_NAMES.join(', ')}`).join('\n')}`);
}

function planFolder(uri: string): string {
  return uri.replace(/\/plan\.json$/, '');
}

/** One config per distinct set of folds among the cells: cells that differ only in what they train share their folds' check. */
function distinctFoldPlans(cells: readonly { readonly config: TrainConfig }[]): TrainConfig[] {
  const plans = new Map<string, TrainConfig>();
  for (const { config } of cells) {
    if (!config.cv) continue;
    const { data, limit, seed, split, splitFractions, cv, cacheDir } = config;
    plans.set(JSON.stringify([data, limit, seed, split, splitFractions, cv, cacheDir]), config);
  }
  return [...plans.values()];
}
