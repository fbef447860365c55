import { UserError } from '../../../user-error';
import type { MlflowClient } from '../client';
import { joinArtifactPath } from './artifact-store';
import { artifactStoreFor } from './store-for-uri';

export interface ResolvedArtifact {
  /** The artifact root of the run (or store) that holds it. */
  readonly rootUri: string;
  /** Path below rootUri; '' for the root itself. */
  readonly path: string;
}

const RUNS = /^runs:\/([^/]+)(?:\/(.*))?$/;
/** MLflow 3's logged model: `models:/m-<32 hex digits>`, optionally with a path inside it. */
export const LOGGED_MODEL_URI = /^models:\/(m-[0-9a-f]{32})(?:\/(.*))?$/;
const MODEL_ALIAS = /^models:\/([^/@]+)@([^/]+)$/;
const MODEL_VERSION = /^models:\/([^/@]+)\/([^/]+)$/;

async function modelVersionUri(client: MlflowClient, name: string, version: string): Promise<string> {
  if (version !== 'latest') return client.getModelVersionDownloadUri(name, version);
  const versions = (await client.searchModelVersions({ filter: `name='${name.replace(/'/g, "\\'")}'`, maxResults: 1000 })).items;
  const newest = versions.sort((a, b) => Number(b.version) - Number(a.version))[0];
  if (!newest) throw new UserError(`registered model '${name}' has no versions`);
  return client.getModelVersionDownloadUri(name, newest.version);
}

/**
 * Turns `runs:/<run_id>/<path>`, `models:/<name>@<alias>`, `models:/<name>/<version|latest>`,
 * `models:/m-<id>` or a plain artifact URI (`mlflow-artifacts:`, `s3://`, a path) into a store
 * root and a path in it.
 */
export async function resolveArtifactUri(client: MlflowClient, uri: string, depth = 0): Promise<ResolvedArtifact> {
  if (depth > 3) throw new UserError(`artifact URI '${uri}' resolves in a loop`);
  const loggedModel = LOGGED_MODEL_URI.exec(uri);
  if (loggedModel) {
    const model = await client.getLoggedModel(loggedModel[1]);
    return { rootUri: model.info.artifact_uri, path: joinArtifactPath(loggedModel[2] ?? '') };
  }
  const runs = RUNS.exec(uri);
  if (runs) {
    const run = await client.getRun(runs[1]);
    const [name = '', ...rest] = joinArtifactPath(runs[2] ?? '').split('/');
    // As MLflow 3 does: runs:/<run_id>/<name> is the run's logged model of that name, if it has one.
    for (const output of name ? run.outputs.model_outputs : []) {
      const model = await client.getLoggedModel(output.model_id);
      if (model.info.name === name) return { rootUri: model.info.artifact_uri, path: rest.join('/') };
    }
    return { rootUri: run.info.artifact_uri, path: joinArtifactPath(runs[2] ?? '') };
  }
  const alias = MODEL_ALIAS.exec(uri);
  if (alias) {
    const [, name, aliasName] = alias;
    const version = await client.getModelVersionByAlias(name, aliasName);
    if (!version) throw new UserError(`registered model '${name}' has no alias '${aliasName}': register a model first, or name a version (models:/${name}/1)`);
    return resolveArtifactUri(client, await client.getModelVersionDownloadUri(name, version.version), depth + 1);
  }
  const version = MODEL_VERSION.exec(uri);
  if (version) return resolveArtifactUri(client, await modelVersionUri(client, version[1], version[2]), depth + 1);
  if (uri.startsWith('models:') || uri.startsWith('runs:')) {
    throw new UserError(`cannot read artifact URI '${uri}': expected runs:/<run_id>/<path>, models:/<name>@<alias>, models:/<name>/<version> or models:/m-<model_id>`);
  }
  return { rootUri: uri, path: '' };
}

/**
 * Downloads an artifact into destDir: a folder's contents land directly in destDir, a file as
 * destDir/<its name>.
 * @returns the local folder (destDir) or, for a single file, the file's local path
 */
export async function downloadArtifacts(client: MlflowClient, uri: string, destDir: string): Promise<string> {
  const { rootUri, path } = await resolveArtifactUri(client, uri);
  return (await artifactStoreFor(rootUri, client).download(path, destDir)).localPath;
}
