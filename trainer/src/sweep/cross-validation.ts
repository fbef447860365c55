import { basename, dirname } from 'node:path';
import type { TrainConfig } from '../config';
import { optionParams } from '../pipeline/run-training';
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
