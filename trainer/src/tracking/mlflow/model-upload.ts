import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Preprocessing } from '../../models/preprocessing';
import { UserError } from '../../user-error';
import { joinArtifactPath, type ArtifactStore } from './artifacts/artifact-store';
import { uploadDirectory, type UploadProgress } from './artifacts/upload-directory';
import { buildMlmodel, examplePng, type MlmodelFiles } from './mlmodel';
import { loaderPackageFiles } from './pyfunc/loader-package';

/** A saved TF.js model folder, read enough to describe it in an MLmodel file. */
export interface ModelFolder {
  readonly dir: string;
  readonly files: readonly string[];
  readonly preprocessing: Preprocessing;
}

export async function readModelFolder(dir: string): Promise<ModelFolder> {
  const files = await readdir(dir);
  if (!files.includes('model.json') || !files.includes('preprocessing.json')) {
    throw new UserError(`${dir} is not a saved TF.js model (model.json and preprocessing.json expected)`);
  }
  const preprocessing = JSON.parse(await readFile(path.join(dir, 'preprocessing.json'), 'utf8')) as Preprocessing;
  return { dir, files, preprocessing };
}

export interface ModelUpload {
  readonly runId: string;
  /** What the MLmodel file names as the model's location. */
  readonly artifactPath: string;
  /** Where in the store the files go ('' for a logged model's own root). */
  readonly storePath: string;
  /** MLflow 3 logged model id; the model's uuid too. */
  readonly modelId?: string;
  readonly onProgress?: (progress: UploadProgress) => void;
}

/**
 * Uploads the model's files, then its MLmodel file (tfjs and python_function flavors, signature),
 * input example, Python environment and loader package (`code/`), so a reader that finds an MLmodel
 * finds everything it names beside it.
 * @returns the MLmodel contents, whose history entry the run's `mlflow.log-model.history` tag records
 */
export async function uploadModelFolder(store: ArtifactStore, folder: ModelFolder, upload: ModelUpload): Promise<MlmodelFiles> {
  const mlmodel = buildMlmodel({
    runId: upload.runId,
    artifactPath: upload.artifactPath,
    files: folder.files,
    preprocessing: folder.preprocessing,
    modelUuid: upload.modelId ?? randomUUID().replace(/-/g, ''),
    modelId: upload.modelId,
    createdAt: new Date(),
    examplePng: await examplePng(folder.preprocessing),
  });
  await uploadDirectory(store, folder.dir, upload.storePath, { label: 'model', onProgress: upload.onProgress });
  const staging = await mkdtemp(path.join(tmpdir(), 'mlmodel-'));
  try {
    for (const { artifactPath, localPath } of await loaderPackageFiles()) {
      await mkdir(path.dirname(path.join(staging, artifactPath)), { recursive: true });
      await copyFile(localPath, path.join(staging, artifactPath));
    }
    // The MLmodel file last: it names the others, and MLflow's tools look for it first.
    const { MLmodel: mlmodelFile, ...others } = mlmodel.files;
    for (const [name, text] of Object.entries(others)) await writeFile(path.join(staging, name), text);
    await uploadDirectory(store, staging, upload.storePath);
    await writeFile(path.join(staging, 'MLmodel'), mlmodelFile);
    await store.uploadFile(path.join(staging, 'MLmodel'), joinArtifactPath(upload.storePath, 'MLmodel'));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return mlmodel;
}
