import * as tf from '@tensorflow/tfjs';
import { UserError } from '../../../trainer/src/user-error';
import { nativeInstalled } from '../../../trainer/src/backend/native-tensorflow';
import { selectBackend } from '../../../trainer/src/backend/select-backend';

const nativeHere = nativeInstalled('tensorflow') || nativeInstalled('tensorflow-gpu');

(nativeHere ? test.skip : test)('auto picks wasm when no native TensorFlow is installed, and says so in plain words', async () => {
  const info = await selectBackend('auto', { threads: 1 });
  expect(info).toMatchObject({ name: 'wasm', tfBackend: 'wasm', threads: 1 });
  expect(tf.getBackend()).toBe('wasm');
  // The GPU package is no loss on a laptop: only the step up from here is named, with how to get it.
  expect(info.detail).toBe('WebAssembly on the CPU (wasm), 1 thread with SIMD; training kernels: relaxed SIMD, fused multiply-add; '
    + 'native TensorFlow, which is faster, is not installed '
    + '(@tensorflow/tfjs-node: `npm ci` with internet access installs it)');
});

const missing = (['tensorflow', 'tensorflow-gpu'] as const).filter((name) => !nativeInstalled(name));

(missing.length ? test.each(missing) : test.skip.each(['tensorflow' as const]))('forcing %s when it is not installed names the package and the install command', async (name) => {
  const pkg = name === 'tensorflow' ? '@tensorflow/tfjs-node' : '@tensorflow/tfjs-node-gpu';
  const attempt = selectBackend(name);
  await expect(attempt).rejects.toThrow(UserError);
  await expect(attempt).rejects.toThrow(`npm install ${pkg}@${tf.version.tfjs}`);
});

test('cpu can be forced and trains', async () => {
  const info = await selectBackend('cpu');
  expect(info).toMatchObject({ name: 'cpu', tfBackend: 'cpu', threads: 1, detail: 'plain JavaScript on one CPU thread (cpu): slow, for checks only' });
  const x = tf.variable(tf.tensor([1, 2, 3]));
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(x)), [x]);
  expect(Array.from(grads[x.name].dataSync())).toEqual([2, 4, 6]);
});

test('wasm runs the relaxed-SIMD kernels where the engine has relaxed SIMD (Node 20 here too), and says which kernels run', async () => {
  const auto = await selectBackend('wasm', { threads: 1 });
  expect(auto.detail).toBe('WebAssembly on the CPU (wasm), 1 thread with SIMD; training kernels: relaxed SIMD, fused multiply-add');
  expect(auto.summary).toBe('wasm (relaxed SIMD, 1 thread)');
  const plain = await selectBackend('wasm', { threads: 1, kernels: 'simd' });
  expect(plain.detail).toBe('WebAssembly on the CPU (wasm), 1 thread with SIMD; training kernels: SIMD');
  expect(plain.summary).toBe('wasm (SIMD, 1 thread)');
  await selectBackend('wasm', { threads: 1 });
});

test('wasm runs the requested number of threads (worker files written for Node)', async () => {
  const info = await selectBackend('wasm', { threads: 2 });
  expect(info).toMatchObject({ name: 'wasm', tfBackend: 'wasm', threads: 2 });
  const product = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64]));
  expect(product.dataSync()[0]).toBe(64);
  // Back to one thread, so the other tests do not keep workers busy.
  expect((await selectBackend('wasm', { threads: 1 })).threads).toBe(1);
});
