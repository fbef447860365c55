/**
 * What the model's python_function flavor needs installed, in the three files MLflow reads it
 * from: `requirements.txt` (pip), `python_env.yaml` (`--env-manager virtualenv`, and the Docker base
 * image `mlflow models generate-dockerfile` picks) and `conda.yaml` (`--env-manager conda`).
 *
 * The versions are the ones the tests load and serve the model with (against MLflow 3.11). JAX is
 * the backend because it is the lightest one Keras runs on; a user with TensorFlow or PyTorch
 * installed can keep it: the loader takes whichever backend Keras is set to.
 */
export const PYFUNC_PYTHON_VERSION = '3.11';

export const PYFUNC_REQUIREMENTS: readonly string[] = [
  'mlflow>=3.0,<4',
  'keras==3.15.1',
  'jax[cpu]==0.10.2',
  'pillow==12.3.0',
];

export const ENVIRONMENT_FILES = {
  requirements: 'requirements.txt',
  pythonEnv: 'python_env.yaml',
  conda: 'conda.yaml',
} as const;

/** The three files, by name. YAML strings are quoted: an unquoted 3.11 is a number, which MLflow refuses. */
export function environmentFiles(): Record<string, string> {
  return {
    [ENVIRONMENT_FILES.requirements]: `${PYFUNC_REQUIREMENTS.join('\n')}\n`,
    [ENVIRONMENT_FILES.pythonEnv]: [
      `python: '${PYFUNC_PYTHON_VERSION}'`,
      'build_dependencies:',
      '- pip',
      'dependencies:',
      `- -r ${ENVIRONMENT_FILES.requirements}`,
      '',
    ].join('\n'),
    [ENVIRONMENT_FILES.conda]: [
      'channels:',
      '- conda-forge',
      'dependencies:',
      `- python=${PYFUNC_PYTHON_VERSION}`,
      '- pip',
      '- pip:',
      ...PYFUNC_REQUIREMENTS.map((requirement) => `  - '${requirement}'`),
      'name: malaria-classifier',
      '',
    ].join('\n'),
  };
}
