import { basename, dirname } from 'node:path';
import type { TrainConfig } from '../config';
import { foldSizes } from '../data/split';
import { optionParams } from '../pipeline/run-training';
import { listTrainingImages } from '../pipeline/training-images';
import { timestamp, uniqueDir } from '../pipeline/set-up-run';
import type { Group } from './run-group';

/**
 * `train --cv K`: K trainings, fold i tested on the patients of fold i (the others train and
 * validate), compared as a group: mean and standard deviation of every test metric, and the ROC
 * of all folds' test predictions pooled. With `--checkpoint-uri`, each fold checkpoints in a
 * folder of its own under it.
 */
export function crossValidation(config: TrainConfig, now: Date = new Date()): Group {
  const folds = config.cv as number;
  const folder = uniqueDir(`${config.out}/${timestamp(now)}-${config.model}-cv${folds}`);
  return {
    kind: 'cross-validation',
    name: basename(folder),
    out: dirname(folder),
    description: `${folds}-fold cross-validation of ${config.model}, grouped by ${config.split} and stratified by class: `
      + `each fold is tested on the ${config.split === 'patient' ? 'patients' : 'cells'} the others trained on.`,
    params: optionParams(config),
    members: Array.from({ length: folds }, (_, i) => ({
      name: `fold ${i + 1}`,
      runName: `fold-${i + 1}`,
      config: {
        ...config,
        cvFold: i + 1,
        ...(config.checkpointUri ? { checkpointUri: `${config.checkpointUri.replace(/\/+$/, '')}/fold-${i + 1}` } : {}),
      },
      varied: { cvFold: String(i + 1) },
    })),
  };
}

/**
 * Below this many patients (images with `--split cell`) a fold's test figures swing so much from
 * fold to fold that their mean says little: a cross-validation with folds this small is warned about.
 */
export const MIN_FOLD_TEST = { patient: 5, cell: 50 } as const;

/**
 * Checks the folds of `--cv K` before anything is trained or any folder is made, from the file
 * names alone: too few patients for K folds is a UserError; folds that would be tested on fewer
 * than MIN_FOLD_TEST patients are a warning with the number of folds that would not be.
 */
export async function checkFolds(config: TrainConfig, log: (line: string) => void): Promise<void> {
  const folds = config.cv;
  const listed = folds && !config.splitFrom ? await listTrainingImages(config) : undefined;
  if (!folds || !listed) return;
  const sizes = foldSizes(listed.files, listed.labels, { mode: config.split, seed: config.seed, fractions: config.splitFractions, folds });
  const unit = config.split === 'patient' ? 'patients' : 'images';
  const smallest = Math.min(...sizes);
  const minimum = MIN_FOLD_TEST[config.split];
  if (smallest >= minimum) return;
  const total = sizes.reduce((a, b) => a + b, 0);
  const fewer = Math.floor(total / minimum);
  log(`warning: --cv ${folds}: ${total} ${unit} make folds of ${smallest} to ${Math.max(...sizes)} ${unit}; each fold is tested on so few `
    + `that its figures swing widely and their mean says little. ${fewer >= 2 ? `--cv ${fewer} tests each fold on ${minimum} or more.` : 'Use more data.'}`);
}
