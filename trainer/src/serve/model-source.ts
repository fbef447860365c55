import { LOGGED_MODEL_URI } from '../tracking/mlflow/artifacts/download';
import { UserError } from '../user-error';

/** Where `--model` points: a folder on disk, or an MLflow URI the tracking client resolves. */
export type ModelSource =
  | { readonly kind: 'folder'; readonly path: string }
  | { readonly kind: 'run'; readonly uri: string; readonly runId: string }
  | { readonly kind: 'logged-model'; readonly uri: string; readonly modelId: string }
  | { readonly kind: 'registry'; readonly uri: string; readonly name: string; readonly alias?: string; readonly version?: string };

const RUN_URI = /^runs:\/([^/]+)\/(.+)$/;
const REGISTRY_ALIAS_URI = /^models:\/([^/@]+)@([^/@]+)$/;
const REGISTRY_VERSION_URI = /^models:\/([^/@]+)\/(\d+)$/;

export function parseModelSource(argument: string): ModelSource {
  const logged = LOGGED_MODEL_URI.exec(argument);
  if (logged && !logged[2]) return { kind: 'logged-model', uri: argument, modelId: logged[1] };
  const run = RUN_URI.exec(argument);
  if (run) return { kind: 'run', uri: argument, runId: run[1] };
  const alias = REGISTRY_ALIAS_URI.exec(argument);
  if (alias) return { kind: 'registry', uri: argument, name: alias[1], alias: alias[2] };
  const version = REGISTRY_VERSION_URI.exec(argument);
  if (version) return { kind: 'registry', uri: argument, name: version[1], version: version[2] };
  if (/^[a-z][a-z0-9+.-]*:\//i.test(argument) && !/^[a-z]:[\\/]/i.test(argument)) {
    throw new UserError(
      `--model ${argument}: unsupported URI; use runs:/<run_id>/model, models:/<name>@<alias>, ` +
        'models:/<name>/<version>, models:/m-<model_id>, or a run or model folder on disk',
    );
  }
  return { kind: 'folder', path: argument };
}
