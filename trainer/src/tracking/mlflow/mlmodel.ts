import { encodePng, PngColorType } from '../../data/png-encode';
import { ASPECT_RATIO, type Preprocessing } from '../../models/preprocessing';
import { CODE_DIR, LOADER_MODULE } from './pyfunc/loader-package';
import { ENVIRONMENT_FILES, environmentFiles, PYFUNC_PYTHON_VERSION } from './pyfunc/python-env';

/** Grey pixel value of the input example: a valid image of the model's size. */
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
  /** The input example: a PNG of the model's size (`examplePng`). */
  readonly examplePng: Uint8Array;
}

export interface MlmodelFiles {
  /**
   * What goes beside the model's own files, by path: the `MLmodel` file (YAML), the input example
   * (`input_example.json`) and the request that scores it (`serving_input_example.json`), and the
   * python_function flavor's environment (`requirements.txt`, `python_env.yaml`, `conda.yaml`).
   */
  readonly files: Readonly<Record<string, string>>;
  /** One entry of the run's `mlflow.log-model.history` tag (JSON). */
  readonly historyEntry: Record<string, unknown>;
}

export const INPUT_EXAMPLE_FILE = 'input_example.json';
export const SERVING_INPUT_FILE = 'serving_input_example.json';

/**
 * The python_function flavor's signature, which MLflow enforces on `predict`: one column of PNG or
 * JPEG files (bytes in Python, base64 over REST), unnamed so that a list of files, a Series or a
 * one-column DataFrame of any name all pass; one row out per image.
 */
export const PYFUNC_SIGNATURE = {
  inputs: [{ type: 'binary', required: true }],
  outputs: [
    { type: 'double', name: 'probability', required: true },
    { type: 'string', name: 'label', required: true },
    { type: 'string', name: 'warning', required: false },
  ],
} as const;

/** MLflow writes timestamps in UTC as `YYYY-MM-DD HH:MM:SS.ffffff`. */
function utcTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')}000`;
}

function quote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A grey PNG of the model's input size: the input example. */
export function examplePng(preprocessing: Preprocessing): Promise<Uint8Array> {
  const size = preprocessing.inputSize;
  return encodePng({ width: size, height: size, colorType: PngColorType.grey, data: new Uint8Array(size * size).fill(EXAMPLE_PIXEL) });
}

/**
 * The MLmodel file of a TF.js layers model and the files it names. Two flavors: `tfjs` (the format
 * and files, for `npm run serve` and TF.js) and `python_function` (the loader package in `code/`,
 * which rebuilds the network with Keras, and its environment), so that MLflow's own tools load and
 * serve it: `mlflow.pyfunc.load_model`, `mlflow models serve`, `mlflow models generate-dockerfile`.
 * The signature is the python_function flavor's: images in, P(Parasitized) and the label out.
 */
export function buildMlmodel(input: MlmodelInput): MlmodelFiles {
  const weights = input.files.filter((f) => f.endsWith('.bin')).sort();
  const tfjs = {
    format: 'tfjs-layers',
    model_file: 'model.json',
    weights_files: weights,
    preprocessing_file: 'preprocessing.json',
    architecture: input.preprocessing.model,
  };
  const pythonFunction = {
    loader_module: LOADER_MODULE,
    code: CODE_DIR,
    env: { conda: ENVIRONMENT_FILES.conda, virtualenv: ENVIRONMENT_FILES.pythonEnv },
    python_version: PYFUNC_PYTHON_VERSION,
    model_config: { warn_aspect_ratio_above: ASPECT_RATIO.warnAbove, refuse_aspect_ratio_above: ASPECT_RATIO.refuseAbove },
  };
  const createdAt = utcTime(input.createdAt);
  const lines = [
    `artifact_path: ${quote(input.artifactPath)}`,
    'flavors:',
    '  python_function:',
    `    code: ${pythonFunction.code}`,
    '    env:',
    `      conda: ${pythonFunction.env.conda}`,
    `      virtualenv: ${pythonFunction.env.virtualenv}`,
    `    loader_module: ${pythonFunction.loader_module}`,
    '    model_config:',
    `      refuse_aspect_ratio_above: ${pythonFunction.model_config.refuse_aspect_ratio_above}`,
    `      warn_aspect_ratio_above: ${pythonFunction.model_config.warn_aspect_ratio_above}`,
    `    python_version: ${quote(pythonFunction.python_version)}`,
    '  tfjs:',
    `    format: ${tfjs.format}`,
    `    model_file: ${tfjs.model_file}`,
    '    weights_files:',
    ...weights.map((w) => `    - ${quote(w)}`),
    `    preprocessing_file: ${tfjs.preprocessing_file}`,
    `    architecture: ${quote(tfjs.architecture)}`,
    ...(input.modelId ? [`model_id: ${input.modelId}`] : []),
    `model_uuid: ${input.modelUuid}`,
    `run_id: ${input.runId}`,
    'saved_input_example_info:',
    `  artifact_path: ${INPUT_EXAMPLE_FILE}`,
    '  pandas_orient: split',
    `  serving_input_path: ${SERVING_INPUT_FILE}`,
    '  type: dataframe',
    'signature:',
    `  inputs: ${quote(JSON.stringify(PYFUNC_SIGNATURE.inputs))}`,
    `  outputs: ${quote(JSON.stringify(PYFUNC_SIGNATURE.outputs))}`,
    '  params: null',
    `utc_time_created: ${quote(createdAt)}`,
    '',
  ];
  const example = { columns: ['image'], data: [[Buffer.from(input.examplePng).toString('base64')]] };
  return {
    files: {
      MLmodel: lines.join('\n'),
      [INPUT_EXAMPLE_FILE]: `${JSON.stringify(example)}\n`,
      [SERVING_INPUT_FILE]: `${JSON.stringify({ dataframe_split: example }, null, 2)}\n`,
      ...environmentFiles(),
    },
    historyEntry: {
      run_id: input.runId,
      artifact_path: input.artifactPath,
      utc_time_created: createdAt,
      model_uuid: input.modelUuid,
      ...(input.modelId ? { model_id: input.modelId } : {}),
      flavors: { python_function: pythonFunction, tfjs },
    },
  };
}
