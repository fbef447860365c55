import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type * as H5Wasm from 'h5wasm';

export type H5 = typeof H5Wasm;

/** The one h5wasm build that loads under plain node, tsx and jest alike: a self-contained script with the wasm inlined. */
const IIFE_BUILD = path.join('h5wasm', 'dist', 'iife', 'h5wasm.js');

let loading: Promise<H5> | undefined;

/**
 * h5wasm ships only ES modules, and jest cannot load those from CommonJS, so we evaluate its
 * iife build (which defines a global `h5wasm`) in a function scope instead. It keeps files in
 * its own in-memory file system (`FS`).
 */
export function loadH5wasm(): Promise<H5> {
  loading ??= (async () => {
    const script = readFileSync(locateIifeBuild(), 'utf8');
    const h5 = new Function(`${script}\nreturn h5wasm;`)() as H5;
    await h5.ready;
    return h5;
  })();
  return loading;
}

function locateIifeBuild(): string {
  // require.resolve cannot be used: the package's exports map only offers `import`.
  const candidates = (require.resolve.paths('h5wasm') ?? []).map((dir) => path.join(dir, IIFE_BUILD));
  const found = candidates.find((file) => existsSync(file));
  if (!found) throw new Error(`h5wasm is not installed: looked for ${IIFE_BUILD} in ${candidates.join(', ')}`);
  return found;
}
