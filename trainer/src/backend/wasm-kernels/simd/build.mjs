// Builds the training kernels (the *.c files here) into the WebAssembly binaries the wasm backend
// loads (see ../training-kernels.ts), in two variants: training-kernels*.wasm with 128-bit SIMD,
// and training-kernels-relaxed*.wasm with relaxed SIMD's fused multiply-add (one FMA instruction
// where the CPU has one; see madd in simd.h), each for a plain heap and for the shared heap of the
// threaded backend (-shared). All four are committed, so `npm ci` needs no compiler; `--check`
// rebuilds them in a temporary folder and fails unless the committed ones are byte for byte what
// the sources give (CI runs it).
// Needs Debian's clang-16 and lld-16 (`apt-get install clang-16 lld-16`), whose builtin
// __builtin_wasm_relaxed_madd_f32x4 simd.h uses; the pinned compiler is what makes the output
// reproducible.
// Usage: node trainer/src/backend/wasm-kernels/simd/build.mjs [--check]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const CLANG = 'clang-16';
const WASM_LD = 'wasm-ld-16';

// -ffp-contract=off: no fused multiply-add but where the source asks for one (madd in simd.h), so
// results do not depend on the compiler's choice.
const COMPILE = ['--target=wasm32', '-O3', '-msimd128', '-mbulk-memory', '-matomics', '-mmutable-globals', '-nostdlib', '-ffreestanding',
  '-fno-builtin', '-ffp-contract=off', '-Wall', '-Wextra', '-Werror'];
// The stack pointer is exported so that each instance (one per thread) gets its own stack; the
// function names stay, so that a trap's stack names the kernel.
const LINK = ['--no-entry', '--import-memory', '--strip-debug', '--export=__stack_pointer'];
// The backend's shared heap is declared with a 4 GiB maximum; an import must declare the same.
const SHARED = ['--shared-memory', '--max-memory=4294967296'];

// The variants, by the suffix of their file names, with the compiler flags each adds: relaxed SIMD
// defines __wasm_relaxed_simd__ (simd.h's madd).
const VARIANTS = { '': [], '-relaxed': ['-mrelaxed-simd'] };
// Each variant is linked for a plain heap and for a shared one.
const HEAPS = { '': LINK, '-shared': [...LINK, ...SHARED] };

export const OUTPUTS = Object.keys(VARIANTS).flatMap((variant) => Object.keys(HEAPS).map((heap) => `training-kernels${variant}${heap}.wasm`));

function run(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    if (error.code === 'ENOENT') throw new Error(`${command} not found: install it with apt-get install clang-16 lld-16`);
    throw new Error(`${command} failed:\n${error.stderr || error.message}`);
  }
}

/** Section ids of a wasm binary, in order. */
function sections(bytes) {
  const ids = [];
  let at = 8;
  while (at < bytes.length) {
    ids.push(bytes[at++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      size |= (byte & 0x7f) << shift;
      if (!(byte & 0x80)) break;
    }
    at += size;
  }
  return ids;
}

export function build(outdir) {
  const objects = mkdtempSync(join(tmpdir(), 'training-kernels-'));
  try {
    const sources = readdirSync(here).filter((f) => f.endsWith('.c')).sort();
    for (const [variant, flags] of Object.entries(VARIANTS)) {
      const built = sources.map((source) => {
        const object = join(objects, source.replace(/\.c$/, `${variant}.o`));
        run(CLANG, [...COMPILE, ...flags, '-c', join(here, source), '-o', object]);
        return object;
      });
      for (const [heap, link] of Object.entries(HEAPS)) {
        const name = `training-kernels${variant}${heap}.wasm`;
        const out = join(outdir, name);
        run(WASM_LD, [...link, ...built, '-o', out]);
        // A data segment would be written over the backend's own heap when instantiated.
        const ids = sections(readFileSync(out));
        if (ids.includes(11) || ids.includes(12)) throw new Error(`${name} has static data (a data section): the kernels must have none`);
      }
    }
  } finally {
    rmSync(objects, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const fresh = mkdtempSync(join(tmpdir(), 'training-kernels-check-'));
    try {
      build(fresh);
      const stale = OUTPUTS.filter((name) => !existsSync(join(here, name)) || !readFileSync(join(fresh, name)).equals(readFileSync(join(here, name))));
      if (stale.length) {
        console.error(`${stale.join(', ')} do not match the C sources: rebuild with node ${join('trainer/src/backend/wasm-kernels/simd', 'build.mjs')} and commit them`);
        process.exit(1);
      }
      console.log(`the committed training kernels match their sources (${CLANG})`);
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  } else {
    build(here);
    for (const name of OUTPUTS) console.log(join(here, name));
  }
}
