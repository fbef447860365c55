import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { onWasmBackendReplaced, wasmHeap } from '../wasm-backend';
import { HeapWorkers } from './heap-workers';
import { chooseKernelVariant, KernelVariant, KernelVariantChoice } from './kernel-variant';

/** The functions simd/*.c export (see simd/build.mjs), each taking (...args, part, parts). */
export const KERNEL_NAMES = [
  'conv2d_filter_grad',
  'add_parts',
  'pad_images',
  'max_pool_grad',
  'channel_sums',
  'channel_max',
  'channel_max_grad',
  'centered_sums',
  'batch_norm_dx',
  'channel_affine',
  'relu_grad',
  'square_grad',
  'depthwise_filter_grad',
  'depthwise_conv2d',
  'pack_filter',
  'conv2d',
  'winograd_filter',
  'winograd_conv2d',
  'winograd_filter_grad',
  'winograd_filter_grad_finish',
] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];

type Heap = 'plain' | 'shared';

/** The binaries simd/build.mjs writes: per variant, one for a plain heap, one for a shared (threaded) one. */
export const KERNEL_BINARIES: Readonly<Record<KernelVariant, Readonly<Record<Heap, string>>>> = {
  simd: { plain: 'training-kernels.wasm', shared: 'training-kernels-shared.wasm' },
  'relaxed-simd': { plain: 'training-kernels-relaxed.wasm', shared: 'training-kernels-relaxed-shared.wasm' },
};

// Each instance (this thread's and each helper's) gets its own stack on the heap; the kernels
// use little or none (build.mjs keeps them free of static data).
const STACK_BYTES = 64 * 1024;
const ELEMENTS_PER_PART = 65536;
const STACK_ALIGN = 16;

/** Our SIMD kernels, instantiated on one wasm backend's heap, with helper threads when it runs threaded. */
export class TrainingKernels {
  private readonly exports: Record<KernelName, (...args: number[]) => void>;
  private readonly workers?: HeapWorkers;
  /** The top of each instance's stack: this thread's, then each helper's. */
  readonly stackTops: readonly number[];

  constructor(private readonly backend: BackendWasm, readonly variant: KernelVariant) {
    const memory = wasmHeap(backend);
    const shared = memory.buffer instanceof SharedArrayBuffer;
    const module = compiled(variant, shared ? 'shared' : 'plain');
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const helpers = shared ? backend.wasm.tfjs.getThreadsCount() - 1 : 0;
    this.stackTops = Array.from({ length: helpers + 1 }, () => this.stack(memory));
    (instance.exports.__stack_pointer as WebAssembly.Global).value = this.stackTops[0];
    this.exports = instance.exports as unknown as Record<KernelName, (...args: number[]) => void>;
    if (helpers > 0) this.workers = new HeapWorkers({ module, memory, kernels: KERNEL_NAMES, stackTops: this.stackTops.slice(1) });
  }

  /** Threads a kernel can be split across. */
  get threads(): number {
    return (this.workers?.helpers ?? 0) + 1;
  }

  /** Parts for one pass over `elements` floats: one per 65,536 of them, up to the threads, so that short passes stay on this thread. */
  partsFor(elements: number): number {
    return Math.min(this.threads, Math.ceil(elements / ELEMENTS_PER_PART));
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

  /**
   * A stack for one instance, returned as its top, aligned to 16 bytes as clang's code assumes:
   * it addresses 16-byte stack arrays with `or` in place of `add`, so on a stack that malloc's
   * 8-byte alignment left at 8 mod 16, such arrays overlapped and convolutions came out wrong.
   * Filled with NaN, so that a kernel reading stack memory it never wrote fails every test, not
   * only those that find an earlier kernel's leftovers there.
   */
  private stack(memory: WebAssembly.Memory): number {
    const bottom = this.malloc(STACK_BYTES + STACK_ALIGN);
    const top = (bottom + STACK_BYTES + STACK_ALIGN) & -STACK_ALIGN;
    new Float32Array(memory.buffer, bottom, (top - bottom) / 4).fill(Number.NaN);
    return top;
  }

  /** Heap bytes for a kernel's scratch space (8-byte aligned, as emscripten's malloc gives); give them back with `free`. */
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
let variantInUse: KernelVariant | undefined;

/**
 * Picks the variant of the kernels that wasm backends started from now on run (selectBackend
 * calls it before starting one) and returns it.
 */
export function useKernelVariant(choice: KernelVariantChoice): KernelVariant {
  variantInUse = chooseKernelVariant(choice);
  return variantInUse;
}

// A replaced backend's helpers would otherwise wait forever, each holding the old heap.
onWasmBackendReplaced((backend) => {
  instances.get(backend.wasm)?.stopHelpers();
  instances.delete(backend.wasm);
});

/** The kernels on this backend's heap, made on first use. */
export function trainingKernels(backend: BackendWasm): TrainingKernels {
  let kernels = instances.get(backend.wasm);
  if (!kernels) {
    kernels = new TrainingKernels(backend, variantInUse ?? useKernelVariant('auto'));
    instances.set(backend.wasm, kernels);
  }
  return kernels;
}

const modules = new Map<string, WebAssembly.Module>();

function compiled(variant: KernelVariant, heap: Heap): WebAssembly.Module {
  const name = KERNEL_BINARIES[variant][heap];
  const cached = modules.get(name);
  if (cached) return cached;
  // Beside this file in the sources (simd/), beside the script in a bundle (see trainer/build.mjs).
  const file = [path.join(__dirname, 'simd', name), path.join(__dirname, name)].find((f) => fs.existsSync(f));
  if (!file) throw new Error(`the training kernels ${name} are missing (build them with: node trainer/src/backend/wasm-kernels/simd/build.mjs)`);
  try {
    const module = new WebAssembly.Module(fs.readFileSync(file));
    modules.set(name, module);
    return module;
  } catch (error) {
    throw new Error(`${file} could not be compiled (it needs WebAssembly SIMD, as in Node.js 20): ${(error as Error).message}`);
  }
}
