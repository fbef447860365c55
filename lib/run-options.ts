import { z } from 'zod';
import { checkOptionCombinations, kebab, negatedFlag, TrainConfigSchema } from '../trainer/src/config';
import { checkOptions, type OptionName } from '../trainer/src/option-problems';
import { UserError } from '../trainer/src/user-error';

/**
 * The model names `--model` accepts (trainer/src/models/registry.ts). The registry itself loads
 * TF.js, which the CDK app and the launcher must not pay for, so the names are kept here as a list;
 * test/lib/run-options.test.ts fails when the two disagree.
 */
export const TRAINER_MODELS = ['compact', 'micro', 'cnn-1', 'cnn-2', 'cnn-3', 'cnn-4', 'vgg16', 'cnn-1-gap', 'cnn-2-gap', 'cnn-3-gap', 'cnn-4-gap'] as const;
export type TrainerModel = (typeof TRAINER_MODELS)[number];

/**
 * Options that make no sense for a cloud run, each with the reason a user is shown: the boot script
 * sets the first three itself, the others name files on a laptop or pick a backend that
 * `--require-gpu` already decides.
 */
export const LOCAL_ONLY_OPTIONS = {
  requireGpu: 'always on in the cloud',
  datasetCache: 'the boot script points it at the bucket',
  checkpointUri: 'the boot script points it at the bucket',
  out: 'the run folder lives inside the container; results go to MLflow',
  cacheDir: 'the dataset cache is the bucket',
  splitFrom: 'names a file on your machine',
  holdout: 'names a file on your machine',
  exclude: 'names a file on your machine',
  relabel: 'names a file on your machine',
  backend: 'the GPU backend is required in the cloud',
  threads: 'only affects the wasm backend',
} as const satisfies Partial<Record<keyof z.input<typeof TrainConfigSchema>, string>>;

const REMOTE_URL = /^https?:\/\/\S+$/;

const localOnlyMask = Object.fromEntries(Object.keys(LOCAL_ONLY_OPTIONS).map((key) => [key, true])) as {
  [K in keyof typeof LOCAL_ONLY_OPTIONS]: true;
};

/** The trainer's options that cloud runs refuse, so the launcher can read them as flags and say why. */
export const LocalOnlyOptionsSchema = TrainConfigSchema.pick(localOnlyMask);

/** Training options a cloud run accepts: the trainer's own schema, less the local ones, with a closed model list. */
export const CloudTrainOptionsSchema = TrainConfigSchema.omit(localOnlyMask).extend({
  model: z.enum(TRAINER_MODELS, { error: `must be one of ${TRAINER_MODELS.join(', ')}` })
    .default('compact').describe(TrainConfigSchema.shape.model.description ?? ''),
  data: z.string()
    .refine((v) => REMOTE_URL.test(v) || /^synthetic(:\d+)?$/.test(v), {
      error: 'must be an http(s) URL or synthetic[:N]: the instance cannot read files on your machine',
    })
    .optional().describe('http(s) URL of the NIH zip or a copy (default: the NIH URL, cached in the bucket), or synthetic[:N]'),
  weights: z.string()
    .refine((v) => v === 'imagenet' || REMOTE_URL.test(v), {
      error: 'must be imagenet or an http(s) URL: the instance cannot read files on your machine',
    })
    .optional().describe('pretrained VGG16 base: imagenet or an http(s) URL of Keras notop .h5 weights'),
});

export type CloudTrainOptions = z.input<typeof CloudTrainOptionsSchema>;

/**
 * Validates the options of one cloud run and returns them as given (defaults stay the trainer's).
 * `name` spells a key the way the user typed it (`--batch-size`, `trainOptions.batchSize`).
 */
export function parseCloudTrainOptions(input: Record<string, unknown>, name: OptionName): CloudTrainOptions {
  const localOnly = Object.keys(input).filter((key): key is keyof typeof LOCAL_ONLY_OPTIONS => Object.hasOwn(LOCAL_ONLY_OPTIONS, key));
  const problems = localOnly.map((key) => `${name(key)}: not available for cloud runs (${LOCAL_ONLY_OPTIONS[key]})`);
  const rest = Object.fromEntries(Object.entries(input).filter(([key]) => !Object.hasOwn(LOCAL_ONLY_OPTIONS, key)));
  problems.push(...checkOptions(CloudTrainOptionsSchema.superRefine(checkOptionCombinations), rest, name).problems);
  if (problems.length) throw new UserError(`invalid training options:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return rest as CloudTrainOptions;
}

/**
 * The command-line arguments the trainer CLI reads for these options, in schema order: `--flag` for
 * a true boolean, `--no-flag` for a false one that is on by default (a false one that is off by
 * default needs nothing), `--flag a,b,c` for a list, `--flag value` otherwise.
 */
export function trainerArgs(options: CloudTrainOptions): string[] {
  const args: string[] = [];
  const shape: Record<string, z.ZodType> = CloudTrainOptionsSchema.shape;
  for (const key of Object.keys(shape)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === false && shape[key].safeParse(undefined).data === true) args.push(negatedFlag(key));
    if (value === undefined || value === false) continue;
    const flag = `--${kebab(key)}`;
    if (value === true) args.push(flag);
    else args.push(flag, Array.isArray(value) ? value.join(',') : String(value));
  }
  return args;
}
