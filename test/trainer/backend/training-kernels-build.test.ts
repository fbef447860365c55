import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The committed wasm binaries are what their C sources give: rebuilt with the pinned compiler
 * (Debian's clang-14 and lld-14, which CI installs) and compared byte for byte.
 */
const root = join(__dirname, '../../..');
const hasCompiler = ['clang-14', 'wasm-ld-14'].every((tool) => spawnSync(tool, ['--version']).status === 0);

(hasCompiler ? test : test.skip)(`the committed training kernels match their C sources${hasCompiler ? '' : ' (skipped: clang-14 and lld-14 are not installed; .ci/run installs them)'}`, () => {
  const check = spawnSync(process.execPath, [join(root, 'trainer/src/backend/wasm-kernels/simd/build.mjs'), '--check'], { encoding: 'utf8' });
  expect(check.stderr).toBe('');
  expect(check.status).toBe(0);
});
