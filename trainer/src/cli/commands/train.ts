import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { kebab, parseTrainConfig, TrainConfigSchema } from '../../config';
import type { OptionName } from '../../option-problems';
import { UserError } from '../../user-error';
import { readSplit } from '../../data/split';
import { readHoldout } from '../../data/holdout';
import { readLabelEdits } from '../../data/label-edits';
import { listModels } from '../../models/registry';
import { selectBackend } from '../../backend/select-backend';
import { runTraining } from '../../pipeline/run-training';
import { checkFolds, crossValidation } from '../../sweep/cross-validation';
import { failedMembers, runGroup } from '../../sweep/run-group';
import { modelTableLines } from '../model-table';
import { atTrainingEdge } from '../training-edge';
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
    const file: string | undefined = cmd.opts().config;
    const fromFile = file ? await readConfigFile(file) : new Map<string, ConfigFileEntry>();
    const flags = typedOptions(cmd, TrainConfigSchema);
    const config = parseTrainConfig(
      { ...Object.fromEntries([...fromFile].map(([key, entry]) => [key, entry.value])), ...flags },
      configFileNaming(file, fromFile, flags),
    );
    // A wrong --split-from should fail in a second, not after the data set is downloaded and read.
    if (config.splitFrom) readSplit(config.splitFrom);
    if (config.holdout) readHoldout(config.holdout);
    readLabelEdits(config);
    if (cmd.opts().listModels) {
      // Building a model to count its parameters needs a backend.
      await selectBackend('auto');
      printModelTable(config.imageSize, TrainConfigSchema.shape.model.parse(undefined));
      return;
    }
    await atTrainingEdge(config, async (deps) => {
      if (config.cv && !config.cvFold) {
        await checkFolds(config, deps.log);
        const group = await runGroup(crossValidation(config), deps);
        return { status: group.status, folder: group.comparison.report, unsynced: group.unsynced, failed: failedMembers(group) };
      }
      const outcome = await runTraining(config, deps);
      return { status: outcome.status, folder: outcome.runDir, unsynced: outcome.unsynced };
    });
  });
}


/** One option of a `--config` file, under its schema key, with the key as the file spells it. */
interface ConfigFileEntry {
  readonly spelled: string;
  readonly value: unknown;
}

async function readConfigFile(file: string): Promise<Map<string, ConfigFileEntry>> {
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
  return new Map(Object.entries(parsed).map(([spelled, value]) => [camel(spelled), { spelled, value }]));
}

const camel = (key: string): string => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Names an option in messages where it came from: a flag as `--epochs`, a key of the config file as
 * `options.json: "epoch"` (flags win, so a key given both ways is the flag's), and a suggestion for
 * a mistyped key in that key's own spelling.
 */
function configFileNaming(file: string | undefined, fromFile: ReadonlyMap<string, ConfigFileEntry>, flags: Record<string, unknown>): OptionName {
  const inFile = (key: string) => file !== undefined && fromFile.has(key) && !Object.hasOwn(flags, key);
  return (key, suggestionFor) => {
    const source = suggestionFor ?? key;
    if (!inFile(source)) return `--${kebab(key)}`;
    const kebabSpelling = fromFile.get(source)?.spelled.includes('-') ?? false;
    const spelled = suggestionFor ? (kebabSpelling ? kebab(key) : key) : fromFile.get(key)?.spelled ?? key;
    return suggestionFor ? `"${spelled}"` : `${file}: "${spelled}"`;
  };
}

function printModelTable(inputSize: number, defaultModel: string): void {
  process.stdout.write(`${modelTableLines(listModels(inputSize), inputSize, defaultModel).join('\n')}\n`);
}
