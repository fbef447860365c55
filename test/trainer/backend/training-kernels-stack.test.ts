import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { wasmHeap } from '../../../trainer/src/backend/wasm-backend';
import { TrainingKernels } from '../../../trainer/src/backend/wasm-kernels/training-kernels';

/**
 * clang's wasm code assumes a 16-byte aligned stack: it addresses 16-byte stack arrays with `or`
 * in place of `add`. emscripten's malloc aligns to 8 only, so a stack whose top landed at 8 mod
 * 16 made Winograd tile functions that kept their arrays on the stack compute wrong
 * convolutions, and only when earlier allocations had left the heap that way.
 */
afterAll(async () => {
  await selectBackend('wasm', { threads: 1 });
});

describe.each([1, 2])('on %i wasm thread(s)', (threads) => {
  test.each([0, 8])('every kernel stack is 16-byte aligned after a %i-byte allocation shifted the heap', async (shift) => {
    await selectBackend('wasm', { threads, kernels: 'simd' });
    const backend = tf.backend() as BackendWasm;
    const before = shift > 0 ? backend.wasm._malloc(shift) : 0;
    const kernels = new TrainingKernels(backend, 'simd');
    try {
      expect(kernels.stackTops).toHaveLength(threads);
      const heap = new Float32Array(wasmHeap(backend).buffer);
      for (const top of kernels.stackTops) {
        expect(top % 16).toBe(0);
        // The stack below the top is the kernels' own, filled with NaN until a kernel writes it.
        expect(Number.isNaN(heap[top / 4 - 1])).toBe(true);
      }
    } finally {
      kernels.stopHelpers();
      if (before) backend.wasm._free(before);
    }
  });
});
