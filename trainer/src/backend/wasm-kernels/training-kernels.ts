import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { onWasmBackendReplaced, wasmHeap } from '../wasm-backend';
import { HeapWorkers } from './heap-workers';

/** The functions simd/*.c export (see simd/build.mjs), each taking (...args, part, parts). */
export const KERNEL_NAMES = [
  'conv2d_filter_grad',
  'add_parts',
  'max_pool_grad',
  'channel_sums',
  'centered_sums',
  'channel_affine',
  'relu_grad',
  'square_grad',
  'depthwise_filter_grad',
  'pack_filter',
  'conv2d',
] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];

/** The binaries simd/build.mjs writes: one for a plain heap, one for a shared (threaded) one. */
export const KERNEL_BINARIES = { plain: 'training-kernels.wasm', shared: 'training-kernels-shared.wasm' } as const;

// Each instance (this thread's and each helper's) gets its own stack on the heap; the kernels
// use little or none (build.mjs keeps them free of static data).
const STACK_BYTES = 64 * 1024;

/** Our SIMD kernels, instantiated on one wasm backend's heap, with helper threads when it runs threaded. */
export class TrainingKernels {
  private readonly exports: Record<KernelName, (...args: number[]) => void>;
  private readonly workers?: HeapWorkers;

  constructor(private readonly backend: BackendWasm) {
    const memory = wasmHeap(backend);
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const module = compiled(shared ? 'shared' : 'plain');
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const stackPointer = instance.exports.__stack_pointer as WebAssembly.Global;
    stackPointer.value = this.malloc(STACK_BYTES) + STACK_BYTES;
    this.exports = instance.exports as unknown as Record<KernelName, (...args: number[]) => void>;
    const helpers = backend.wasm.tfjs.getThreadsCount() - 1;
    if (shared && helpers > 0) {
      const stackTops = Array.from({ length: helpers }, () => this.malloc(STACK_BYTES) + STACK_BYTES);
      this.workers = new HeapWorkers({ module, memory, kernels: KERNEL_NAMES, stackTops });
    }
  }

  /** Threads a kernel can be split across. */
  get threads(): number {
    return (this.workers?.helpers ?? 0) + 1;
  }

  /** Jobs that ran partly on helper threads (for tests: proof that the split happened). */
  get splitJobs(): number {
    return this.workers?.splitJobs ?? 0;
  }

  /** Helper threads running now. */
  get helpersStarted(): number {
    return this.workers?.started ?? 0;
  }

  /** Stops the helper threads: for a backend being replaced. */
  stopHelpers(): void {
    this.workers?.terminate();
  }

  /** Runs `kernel(...args, part, parts)` for every part, part 0 on this thread. */
  run(kernel: KernelName, args: readonly number[], parts = 1): void {
    const here = () => this.exports[kernel](...args, 0, parts);
    if (parts <= 1 || !this.workers) {
      here();
      return;
    }
    this.workers.run(kernel, args, Math.min(parts, this.threads), here);
  }

  /** Heap bytes for a kernel's scratch space (16-byte aligned); give them back with `free`. */
  malloc(bytes: number): number {
    const pointer = this.backend.wasm._malloc(bytes) >>> 0;
    if (pointer === 0) throw new Error(`the wasm heap could not allocate ${bytes} bytes`);
    return pointer;
  }

  free(pointer: number): void {
    this.backend.wasm._free(pointer);
  }

  /** Where a tensor's data starts on the heap. */
  pointer(t: tf.TensorInfo): number {
    return this.backend.getMemoryOffset(t.dataId);
  }
}

const instances = new WeakMap<object, TrainingKernels>();

// A replaced backend's helpers would otherwise wait forever, each holding the old heap.
onWasmBackendReplaced((backend) => {
  instances.get(backend.wasm)?.stopHelpers();
  instances.delete(backend.wasm);
});

/** The kernels on this backend's heap, made on first use. */
export function trainingKernels(backend: BackendWasm): TrainingKernels {
  let kernels = instances.get(backend.wasm);
  if (!kernels) {
    kernels = new TrainingKernels(backend);
    instances.set(backend.wasm, kernels);
  }
  return kernels;
}

const modules: Partial<Record<keyof typeof KERNEL_BINARIES, WebAssembly.Module>> = {};

function compiled(kind: keyof typeof KERNEL_BINARIES): WebAssembly.Module {
  const cached = modules[kind];
  if (cached) return cached;
  // Beside this file in the sources (simd/), beside the script in a bundle (see trainer/build.mjs).
  const file = [path.join(__dirname, 'simd', KERNEL_BINARIES[kind]), path.join(__dirname, KERNEL_BINARIES[kind])].find((f) => fs.existsSync(f));
  if (!file) throw new Error(`the training kernels ${KERNEL_BINARIES[kind]} are missing (build them with: node trainer/src/backend/wasm-kernels/simd/build.mjs)`);
  try {
    return (modules[kind] = new WebAssembly.Module(fs.readFileSync(file)));
  } catch (error) {
    throw new Error(`${file} could not be compiled (it needs WebAssembly SIMD, as in Node.js 20): ${(error as Error).message}`);
  }
}
