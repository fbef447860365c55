import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The committed wasm binaries (relaxed SIMD and plain SIMD, each for a plain and a shared heap)
 * are what their C sources give: rebuilt with the pinned compiler (Debian's clang-16 and lld-16,
 * which CI installs) and compared byte for byte.
 */
const root = join(__dirname, '../../..');
const hasCompiler = ['clang-16', 'wasm-ld-16'].every((tool) => spawnSync(tool, ['--version']).status === 0);

(hasCompiler ? test : test.skip)(`the committed training kernels match their C sources${hasCompiler ? '' : ' (skipped: clang-16 and lld-16 are not installed; .ci/run installs them)'}`, () => {
  const check = spawnSync(process.execPath, [join(root, 'trainer/src/backend/wasm-kernels/simd/build.mjs'), '--check'], { encoding: 'utf8' });
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
});
