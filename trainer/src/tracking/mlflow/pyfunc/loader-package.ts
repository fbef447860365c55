import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * The Python package every logged model carries in its `code/` folder, named in its MLmodel as the
 * python_function flavor's `loader_module`: it rebuilds the network with Keras and scores images as
 * `npm run serve` does. Its name is unlikely to clash with a user's modules, since MLflow puts the
 * folder on sys.path.
 */
export const LOADER_MODULE = 'malaria_mlops_pyfunc';
export const CODE_DIR = 'code';

/** The package's folder: beside this file in the sources, beside the bundle in the image (trainer/build.mjs copies it there). */
export function loaderPackageDir(): string {
  const dir = path.join(__dirname, LOADER_MODULE);
  if (!existsSync(path.join(dir, '__init__.py'))) throw new Error(`the python_function loader ${dir} is missing; please report it`);
  return dir;
}

/** The package's source files (compiled caches left out), as `code/<package>/<file>` paths and where to read them. */
export async function loaderPackageFiles(): Promise<{ readonly artifactPath: string; readonly localPath: string }[]> {
  const dir = loaderPackageDir();
  const names = (await readdir(dir)).filter((name) => name.endsWith('.py')).sort();
  return names.map((name) => ({ artifactPath: `${CODE_DIR}/${LOADER_MODULE}/${name}`, localPath: path.join(dir, name) }));
}
