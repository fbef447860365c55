// Bundles the training CLI into one file, trainer/dist/train.js, for the container image, with the
// wasm training kernels (trainer/src/backend/wasm-kernels/simd/*.wasm) and the Python loader every
// logged model carries (trainer/src/tracking/mlflow/pyfunc/malaria_mlops_pyfunc/) beside it, where
// the bundle looks for them.
// Everything that cannot live inside a bundle (native addons, wasm binaries, ESM-only modules with
// top-level await, and the TF.js family, which must stay one instance for backends to register)
// is external and comes from trainer/runtime/package.json, installed beside the bundle.
// Usage: node trainer/build.mjs [--outdir <folder>]
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const trainerDir = dirname(fileURLToPath(import.meta.url));
export const ENTRY = join(trainerDir, 'src/cli/main.ts');
export const OUT_FILE_NAME = 'train.js';
const KERNELS_DIR = join(trainerDir, 'src/backend/wasm-kernels/simd');
export const PYFUNC_LOADER = 'malaria_mlops_pyfunc';
const PYFUNC_DIR = join(trainerDir, 'src/tracking/mlflow/pyfunc', PYFUNC_LOADER);

/** Runtime package names, plus the subpaths and sibling @tensorflow packages they bring. */
export function runtimeExternals() {
  const runtime = JSON.parse(readFileSync(join(trainerDir, 'runtime/package.json'), 'utf8'));
  const names = Object.keys(runtime.dependencies);
  return [...names, ...names.map((name) => `${name}/*`), '@tensorflow/*'];
}

export async function bundle(outdir = join(trainerDir, 'dist')) {
  const outfile = join(outdir, OUT_FILE_NAME);
  await build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: runtimeExternals(),
    // Stack traces of a failed cloud run should name our functions.
    keepNames: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const binary of readdirSync(KERNELS_DIR).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(KERNELS_DIR, binary), join(outdir, binary));
  mkdirSync(join(outdir, PYFUNC_LOADER), { recursive: true });
  for (const source of readdirSync(PYFUNC_DIR).filter((f) => f.endsWith('.py'))) copyFileSync(join(PYFUNC_DIR, source), join(outdir, PYFUNC_LOADER, source));
  return outfile;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--outdir');
  const outfile = await bundle(at > 0 ? resolve(process.argv[at + 1]) : undefined);
  console.log(outfile);
}
