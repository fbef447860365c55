import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The postinstall line of `npm ci`: whether the optional native TensorFlow arrived. Run from a
 * folder of its own, with a stand-in for the package where the case needs one.
 */
const script = join(__dirname, '../../../trainer/src/backend/native-install-check.cjs');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'native-check-'));
  copyFileSync(script, join(dir, 'check.cjs'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const run = () => spawnSync(process.execPath, [join(dir, 'check.cjs')], { cwd: dir, encoding: 'utf8' });

test('without @tensorflow/tfjs-node (an offline install dropped it): one line that says why and what training uses, and success', () => {
  const result = run();
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('');
  expect(result.stderr.trim().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(/@tensorflow\/tfjs-node .* not installed: .* needs internet access\. Training uses WebAssembly/);
});

test('with the package but without its native binding (a failed download kept), the same line', () => {
  mkdirSync(join(dir, 'node_modules/@tensorflow/tfjs-node/lib'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/@tensorflow/tfjs-node/package.json'), '{"name":"@tensorflow/tfjs-node","version":"4.22.0"}');
  expect(run().stderr).toMatch(/not installed/);
});

test('with the native binding: says training uses native TensorFlow', () => {
  mkdirSync(join(dir, 'node_modules/@tensorflow/tfjs-node/lib/napi-v8'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/@tensorflow/tfjs-node/package.json'), '{"name":"@tensorflow/tfjs-node","version":"4.22.0"}');
  writeFileSync(join(dir, 'node_modules/@tensorflow/tfjs-node/lib/napi-v8/tfjs_binding.node'), '');
  const result = run();
  expect(result.status).toBe(0);
  expect(result.stdout.trim()).toBe('@tensorflow/tfjs-node installed: training uses native TensorFlow on the CPU.');
  expect(result.stderr).toBe('');
});
