/**
 * What the training code tells the outside world about a run. The local run folder and the
 * MLflow client both implement it, so training never knows where its record ends up.
 */
export type RunStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export type ParamValue = string | number | boolean;

export interface RunStart {
  /** Human-readable run name, e.g. `20261125-203112-compact`. */
  readonly runName: string;
  /** The local run folder that holds every file of the run. */
  readonly runDir: string;
  /** One paragraph describing the run (MLflow shows it as the run's note). */
  readonly description: string;
  /** Our own tags: model, backend, instance type, image digest... */
  readonly tags: Readonly<Record<string, string>>;
}

export interface DatasetInput {
  readonly name: string;
  /** Content digest of the images that were read. */
  readonly digest: string;
  /** Where the images came from (URL, zip path, folder, synthetic:N). */
  readonly source: string;
  readonly splitDigest: string;
  readonly counts: Readonly<{ train: number; validation: number; test: number }>;
}

export interface RunEnd {
  readonly status: RunStatus;
  /** The error message of a FAILED run. */
  readonly error?: string;
  /** Final test metrics (keys such as `test_accuracy`, `test_auc`), when the run got that far. */
  readonly testMetrics?: Readonly<Record<string, number>>;
  /** Folder of the saved model (TF.js layers format + preprocessing.json), when one was saved. */
  readonly modelDir?: string;
}

export interface Tracker {
  startRun(start: RunStart): Promise<void>;
  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void>;
  setTags(tags: Readonly<Record<string, string>>): Promise<void>;
  logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void>;
  logDataset(input: DatasetInput): Promise<void>;
  /** Uploads the run folder (plots, report, split, model) and ends the run. */
  endRun(end: RunEnd): Promise<void>;
}
