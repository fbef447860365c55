import { readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../user-error';

/** A model on disk: the folder with model.json, and the run folder around it when there is one. */
export interface ModelFolder {
  readonly modelDir: string;
  readonly runDir?: string;
}

/** Accepts a run folder (holding `model/`) or the model folder itself. */
export async function locateModelFolder(path: string): Promise<ModelFolder> {
  const dir = resolve(path);
  if (await isFile(join(dir, 'model', 'model.json'))) return { modelDir: join(dir, 'model'), runDir: dir };
  if (await isFile(join(dir, 'model.json'))) return { modelDir: dir };
  throw new UserError(
    `--model ${path}: found neither ${join(path, 'model', 'model.json')} nor ${join(path, 'model.json')}; ` +
      'point it at a run folder (runs/<run>), its model/ folder, or an MLflow URI such as models:/<name>@champion',
  );
}

/** The run's test metrics (`metrics.json`, written when a run finishes), or undefined when it has none. */
export async function readRunMetrics(runDir: string): Promise<Record<string, number> | undefined> {
  let text: string;
  try {
    text = await readFile(join(runDir, 'metrics.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed: unknown = JSON.parse(text);
  if (parsed === null || typeof parsed !== 'object') return undefined;
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

export function runName(folder: ModelFolder): string {
  return folder.runDir ? basename(folder.runDir) : 'local';
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
