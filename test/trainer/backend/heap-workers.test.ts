import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { wasmHeap } from '../../../trainer/src/backend/wasm-backend';
import { trainingKernels } from '../../../trainer/src/backend/wasm-kernels/training-kernels';

/**
 * The helper threads our kernels are split across: a failure there must reach the caller as the
 * helper's own error, and the pool must keep working after it.
 */
beforeAll(async () => {
  await selectBackend('wasm', { threads: 2 });
});
afterAll(async () => {
  await selectBackend('wasm', { threads: 1 });
});

/** add_parts over 2048 floats at `acc`, split in two: part 0 reads the first half, part 1 (the helper) the second. */
function addHalves(acc: number): void {
  const kernels = trainingKernels(tf.backend() as BackendWasm);
  const out = kernels.malloc(2048 * 4);
  try {
    kernels.run('add_parts', [acc, out, 2048, 1], 2);
  } finally {
    kernels.free(out);
  }
}

test('a trap on the helper thread reaches the caller with the helper\'s message and wasm stack', () => {
  const end = wasmHeap(tf.backend() as BackendWasm).buffer.byteLength;
  // The first half ends exactly at the end of the heap: only the helper's half is out of bounds.
  let error: Error | undefined;
  try {
    addHalves(end - 1024 * 4);
  } catch (e) {
    error = e as Error;
  }
  expect(error).toBeInstanceOf(Error);
  expect(error!.message).toBe('memory access out of bounds');
  expect(error!.stack).toMatch(/RuntimeError: memory access out of bounds/);
  // The kernel's own frame, by name, from the helper's stack.
  expect(error!.stack).toMatch(/at add_parts \(wasm:\/\/wasm\//);
  expect(error!.stack).toMatch(/helper thread 1 running add_parts/);
  expect(error!.stack).not.toMatch(/failed on a helper thread/);
});

test('a trap on the calling thread is thrown as it is, and the helpers keep working after either', () => {
  const end = wasmHeap(tf.backend() as BackendWasm).buffer.byteLength;
  expect(() => addHalves(end + 4096)).toThrow('memory access out of bounds');
  const x = tf.randomUniform([64, 30, 30, 8], -1, 1, 'float32', 3);
  const kernels = trainingKernels(tf.backend() as BackendWasm);
  const before = kernels.splitJobs;
  const sums = tf.sum(x, [0, 1, 2]).dataSync();
  expect(kernels.splitJobs).toBeGreaterThan(before);
  const reference = Array.from({ length: 8 }, (_, c) => {
    const values = x.dataSync();
    let s = 0;
    for (let i = c; i < values.length; i += 8) s += values[i];
    return s;
  });
  sums.forEach((s, c) => expect(s).toBeCloseTo(reference[c], 2));
  x.dispose();
});

test('replacing the wasm backend stops the old backend\'s helpers (each holds the old heap)', async () => {
  const old = trainingKernels(tf.backend() as BackendWasm);
  tf.tidy(() => tf.sum(tf.randomUniform([64, 30, 30, 8]), [0, 1, 2]).dataSync());
  expect(old.helpersStarted).toBe(1);
  await selectBackend('wasm', { threads: 2 });
  expect(old.helpersStarted).toBe(0);
  const fresh = trainingKernels(tf.backend() as BackendWasm);
  expect(fresh).not.toBe(old);
  tf.tidy(() => tf.sum(tf.randomUniform([64, 30, 30, 8]), [0, 1, 2]).dataSync());
  expect(fresh.helpersStarted).toBe(1);
});
