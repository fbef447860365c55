import type { Preprocessing } from '../../models/preprocessing';

/** Grey pixel value of the input example, before scaling: a valid input of the right shape. */
const EXAMPLE_PIXEL = 128;

export interface MlmodelInput {
  readonly runId: string;
  /** Artifact path of the model folder. */
  readonly artifactPath: string;
  /** File names in the model folder, e.g. model.json, group1-shard1of1.bin, preprocessing.json. */
  readonly files: readonly string[];
  readonly preprocessing: Preprocessing;
  readonly modelUuid: string;
  /** MLflow 3 logged model id (`m-...`), when the model is one. */
  readonly modelId?: string;
  readonly createdAt: Date;
}

export interface MlmodelFiles {
  /** The `MLmodel` file (YAML). */
  readonly mlmodel: string;
  /** `input_example.json`: one grey image in TF-serving `inputs` form. */
  readonly inputExample: string;
  /** One entry of the run's `mlflow.log-model.history` tag (JSON). */
  readonly historyEntry: Record<string, unknown>;
}

export const INPUT_EXAMPLE_FILE = 'input_example.json';

/** MLflow writes timestamps in UTC as `YYYY-MM-DD HH:MM:SS.ffffff`. */
function utcTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function tensorSpec(shape: readonly number[]): string {
  return JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape } }]);
}

/**
 * The MLmodel file of a TF.js layers model: a `tfjs` flavor naming its format and files, the
 * tensor signature ([-1,S,S,3] float32 in, [-1,1] float32 out) and the input example.
 */
export function buildMlmodel(input: MlmodelInput): MlmodelFiles {
  const size = input.preprocessing.inputSize;
  const weights = input.files.filter((f) => f.endsWith('.bin')).sort();
  const flavor = {
    format: 'tfjs-layers',
    model_file: 'model.json',
    weights_files: weights,
    preprocessing_file: 'preprocessing.json',
    architecture: input.preprocessing.model,
  };
  const createdAt = utcTime(input.createdAt);
  const lines = [
    `artifact_path: ${quote(input.artifactPath)}`,
    'flavors:',
    '  tfjs:',
    `    format: ${flavor.format}`,
    `    model_file: ${flavor.model_file}`,
    '    weights_files:',
    ...weights.map((w) => `    - ${quote(w)}`),
    `    preprocessing_file: ${flavor.preprocessing_file}`,
    `    architecture: ${quote(flavor.architecture)}`,
    ...(input.modelId ? [`model_id: ${input.modelId}`] : []),
    `model_uuid: ${input.modelUuid}`,
    `run_id: ${input.runId}`,
    'saved_input_example_info:',
    `  artifact_path: ${INPUT_EXAMPLE_FILE}`,
    '  format: tf-serving',
    '  type: ndarray',
    'signature:',
    `  inputs: ${quote(tensorSpec([-1, size, size, 3]))}`,
    `  outputs: ${quote(tensorSpec([-1, 1]))}`,
    '  params: null',
    `utc_time_created: ${quote(createdAt)}`,
    '',
  ];
  const value = Math.round(EXAMPLE_PIXEL * input.preprocessing.scale * 1e4) / 1e4;
  const row = `[${Array.from({ length: size }, () => `[${value},${value},${value}]`).join(',')}]`;
  const image = `[${Array.from({ length: size }, () => row).join(',')}]`;
  return {
    mlmodel: lines.join('\n'),
    inputExample: `{"inputs": [${image}]}\n`,
    historyEntry: {
      run_id: input.runId,
      artifact_path: input.artifactPath,
      utc_time_created: createdAt,
      model_uuid: input.modelUuid,
      ...(input.modelId ? { model_id: input.modelId } : {}),
      flavors: { tfjs: flavor },
    },
  };
}
