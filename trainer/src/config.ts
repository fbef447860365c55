import { z } from 'zod';
import { championMetricProblem } from './evaluate/metric-directions';
import { thresholdTargetProblem } from './evaluate/threshold';
import { checkOptions, type OptionName } from './option-problems';
import { AUGMENT_SYMMETRIES } from './train/batches';
import { LR_SCHEDULES } from './train/learning-rate';
import { UserError } from './user-error';

/** Where the NIH malaria thin-smear data set is published, and what it must hash to. */
export const NIH_DATASET = {
  url: 'https://data.lhncbc.nlm.nih.gov/public/Malaria/cell_images.zip',
  bytes: 353_452_851,
  sha256: '0a949556b2414159b5100192609805376654c4266d8d187be9b1922fad43c668',
} as const;

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export const SPLIT_MODES = ['patient', 'cell'] as const;

/**
 * Every training option, with its default. This is the one place options are validated:
 * the CLI flags, a `--config` file and the cloud launcher all go through `parseTrainConfig`.
 */
export const TrainConfigSchema = z
  .object({
    data: z.string().min(1).default(NIH_DATASET.url)
      .describe('NIH zip URL, a local zip, a folder with Parasitized/ and Uninfected/, or synthetic[:N]'),
    model: z.string().min(1).default('compact').describe('model name (see --list-models)'),
    epochs: z.number().int().positive().default(10).describe('maximum number of epochs'),
    batchSize: z.number().int().positive().max(4096).default(64).describe('images per training step'),
    imageSize: z.number().int().min(16).max(512).default(100).describe('square input size in pixels'),
    learningRate: z.number().positive().max(1).default(1e-3).describe('Adam learning rate (where --lr-schedule starts)'),
    lrSchedule: z.enum(LR_SCHEDULES).default('cosine')
      .describe('learning rate over training: constant; cosine (decays step by step to 0 at the end of --epochs); '
        + 'plateau (multiplied by --lr-factor after --lr-patience epochs without a better validation loss)'),
    lrPatience: z.number().int().positive().default(1)
      .describe('--lr-schedule plateau: epochs without validation-loss improvement before the rate is cut'),
    lrFactor: z.number().positive().lt(1).default(0.5).describe('--lr-schedule plateau: what each cut multiplies the rate by'),
    labelSmoothing: z.number().min(0).lt(0.5).default(0)
      .describe('train towards 1 - s/2 and s/2 instead of 1 and 0 (e.g. 0.1): less overconfidence on mislabelled cells'),
    seed: z.number().int().nonnegative().default(42).describe('seed for split, initialisation, shuffling and augmentation'),
    split: z.enum(SPLIT_MODES).default('patient')
      .describe('patient: no patient in two splits; cell: random cell-level split'),
    splitFractions: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()])
      .default([0.8, 0.1, 0.1]).describe('train, validation, test fractions')
      .refine((f) => Math.abs(f[0] + f[1] + f[2] - 1) < 1e-6, 'fractions must add up to 1'),
    splitFrom: z.string().optional().describe('reuse the split.json of an earlier run (file or run folder)'),
    holdout: z.string().optional()
      .describe('patients kept out of all training and tuning (a file of patient ids, one per line, or a split.json): '
        + 'the test split is exactly their images; with --cv the folds are cut from the other patients'),
    cv: z.number().int().min(2).max(20).optional()
      .describe('K-fold cross-validation by patient: K models, each tested on patients the others trained on; mean and sd of every metric '
        + '(needs 2K patients; a warning when a fold would be tested on fewer than 5)'),
    cvFold: z.number().int().positive().optional().describe('train only this fold (1..K) of --cv (sweeps run the folds side by side)'),
    patience: z.number().int().nonnegative().default(0)
      .describe('stop after this many epochs without a better validation loss (0: run every epoch; the best epoch\'s weights are kept either way)'),
    augment: z.boolean().default(true).describe('random flips, 90-degree rotations and brightness changes of the training images'),
    augmentSymmetries: z.enum(AUGMENT_SYMMETRIES).default('all')
      .describe('--augment: all (the 8 flips and quarter turns of the square) or flips (horizontal and vertical, as Keras\' RandomFlip)'),
    augmentBrightness: z.number().min(0).max(0.5).default(0.1)
      .describe('--augment: brightness multiplied by a factor drawn from 1 +/- this (0: unchanged)'),
    tta: z.boolean().default(true)
      .describe('test-time augmentation: score each image under its 8 flips and rotations and average; '
        + 'used for the threshold, the test metrics and by the model server (8x the prediction time)'),
    validateWithTta: z.boolean().default(false)
      .describe('score each epoch\'s validation with test-time augmentation too, so that the best epoch is chosen on the '
        + 'loss of the model as it is used (about 40% more time per epoch on a CPU; default: without, about 5%)'),
    thresholdFor: z.string()
      .superRefine((text, ctx) => {
        const problem = thresholdTargetProblem(text);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe('choose the decision threshold on the validation split to reach sensitivity=<0..1> or specificity=<0..1> '
        + '(e.g. sensitivity=0.95); the model is saved and served with it (default: threshold 0.5)'),
    out: z.string().min(1).default('runs').describe('folder that receives one folder per run'),
    backend: z.enum(BACKENDS).default('auto').describe('TF.js backend; auto picks the fastest installed'),
    threads: z.number().int().positive().max(64).optional().describe('wasm threads (default: one per core)'),
    weights: z.string().optional().describe('pretrained VGG16 base: imagenet (Keras notop .h5, downloaded once), a .h5 path or a URL'),
    freezeBase: z.boolean().default(false).describe('freeze the pretrained base of vgg16'),
    exclude: z.string().min(1).optional()
      .describe('CSV file with a file column (e.g. a cross-validation\'s label-issues.csv): leave those images out; in the data digest'),
    relabel: z.string().min(1).optional()
      .describe('CSV file with file and new_label columns (e.g. an edited label-issues.csv): train with those labels; in the data digest'),
    maxUnreadable: z.number().min(0).max(1).default(0.01).describe('fraction of unreadable images that stops the run'),
    cacheDir: z.string().optional().describe('download cache (default: the user cache folder)'),
    limit: z.number().int().positive().optional().describe('use at most this many images per class (quick trials)'),
    registerModel: z.string().min(1).default('malaria-classifier')
      .describe('MLflow registered-model name (used when MLFLOW_TRACKING_URI is set)'),
    championMetric: z.string().min(1)
      .superRefine((metric, ctx) => {
        const problem = championMetricProblem(metric);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .default('test_auc')
      .describe('test metric that decides whether a new version becomes the champion (higher or lower is better, as the metric goes: test_brier lower)'),
    requireGpu: z.boolean().default(false).describe('fail unless the GPU backend is active (cloud runs)'),
    datasetCache: z.string().optional().describe('s3:// prefix that caches the NIH zip and decoded tensors'),
    checkpointUri: z.string().optional()
      .describe('s3:// prefix or folder for per-epoch checkpoints; a restarted run resumes from it'),
  })
  .strict();

/**
 * Rules that tie options together, kept apart from the schema so that schemas derived from it
 * (the cloud launcher's) can `.omit()` fields and apply the same rules.
 */
export function checkOptionCombinations(
  config: { cv?: number; cvFold?: number; splitFrom?: string; holdout?: string; tta?: boolean; validateWithTta?: boolean }, context: z.RefinementCtx,
): void {
  if (config.validateWithTta && config.tta === false) {
    context.addIssue({ code: 'custom', path: ['validateWithTta'], message: 'scores validation as the model is used, with test-time augmentation; drop --no-tta' });
  }
  if (config.cvFold !== undefined && config.cv === undefined) {
    context.addIssue({ code: 'custom', path: ['cvFold'], message: 'needs --cv K (the number of folds)' });
  }
  if (config.cvFold !== undefined && config.cv !== undefined && config.cvFold > config.cv) {
    context.addIssue({ code: 'custom', path: ['cvFold'], message: `must be between 1 and --cv (${config.cv})` });
  }
  if (config.cv !== undefined && config.splitFrom !== undefined) {
    context.addIssue({ code: 'custom', path: ['cv'], message: 'makes its own folds; drop --split-from' });
  }
  if (config.holdout !== undefined && config.splitFrom !== undefined) {
    context.addIssue({ code: 'custom', path: ['holdout'], message: 'the split from --split-from already fixes the test set; drop one of the two' });
  }
}

export type TrainConfig = z.infer<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/**
 * Validates options against `schema`, naming every bad key the way the user wrote it (its flag by
 * default) with what it accepts, in plain words.
 */
export function parseOptions<S extends z.ZodObject>(
  schema: S,
  input: Record<string, unknown>,
  options: { readonly what?: string; readonly name?: OptionName } = {},
): z.infer<S> {
  const { data, problems } = checkOptions(schema, input, options.name ?? ((key) => `--${kebab(key)}`));
  if (problems.length) throw new UserError(`invalid ${options.what ?? 'options'}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return data as z.infer<S>;
}

/** Validates training options; `name` says how to name a key in messages (default: its flag). */
export function parseTrainConfig(input: Record<string, unknown>, name?: OptionName): TrainConfig {
  return parseOptions(TrainConfigSchema.superRefine(checkOptionCombinations), input, { name });
}

export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `--no-augment` for `augment`: how a boolean option that defaults to true is turned off. */
export function negatedFlag(key: string): string {
  return `--no-${kebab(key)}`;
}

/** `batch-size` -> `batchSize`: option files may spell keys as flags. */
export function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
