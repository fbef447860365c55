import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { BackendChoice } from '../config';
import { loadNativeTensorFlow, NATIVE_PACKAGES, nativeInstalled } from './native-tensorflow';
import { useWasmBackend } from './wasm-backend';
import { KernelVariantChoice, relaxedSimdSupported } from './wasm-kernels/kernel-variant';
import { registerWasmTrainingKernels } from './wasm-kernels/register';
import { useKernelVariant } from './wasm-kernels/training-kernels';

export type BackendName = Exclude<BackendChoice, 'auto'>;

/** What training runs on: printed at start and recorded with the run. */
export interface BackendInfo {
  readonly name: BackendName;
  /** TF.js's name for it (`tf.getBackend()`): tensorflow, wasm or cpu. */
  readonly tfBackend: string;
  /** Threads doing the math. */
  readonly threads: number;
  /** One line for people: what it is, and why auto did not pick something faster. */
  readonly detail: string;
  /** A few words for run records and the report, e.g. `wasm (relaxed SIMD, 2 threads)`. */
  readonly summary: string;
}

export interface SelectBackendOptions {
  /** wasm threads. @default one per core */
  readonly threads?: number;
  /** Folder of the tfjs-backend-wasm .wasm binaries. @default the installed package, else beside the script */
  readonly wasmDir?: string;
  /** Which build of our wasm training kernels runs. @default auto: relaxed SIMD where the engine runs it */
  readonly kernels?: KernelVariantChoice;
}

/** Fastest first: what `auto` tries. */
const AUTO_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Makes a TF.js backend current for everything that imports `@tensorflow/tfjs`. Call it before
 * building models: variables live on the backend that was current when they were made.
 * `auto` takes the fastest one installed; a forced one that is missing is a UserError that says
 * how to install it.
 */
export async function selectBackend(choice: BackendChoice, opts: SelectBackendOptions = {}): Promise<BackendInfo> {
  if (choice !== 'auto') return start(choice, opts);
  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    if (isNative(name) && !nativeInstalled(name)) {
      skipped.push(`${NATIVE_PACKAGES[name]} not installed`);
      continue;
    }
    try {
      const info = await start(name, opts);
      return skipped.length ? { ...info, detail: `${info.detail} (${skipped.join('; ')})` } : info;
    } catch (error) {
      skipped.push(`${name} failed: ${(error as Error).message}`);
    }
  }
  throw new Error(`no TF.js backend could start: ${skipped.join('; ')}`);
}

async function start(name: BackendName, opts: SelectBackendOptions): Promise<BackendInfo> {
  if (isNative(name)) {
    const native = await loadNativeTensorFlow(name);
    const threads = os.availableParallelism();
    return { name, tfBackend: tf.getBackend(), threads, detail: native.detail, summary: `${name} (${native.summary})` };
  }
  if (name === 'wasm') {
    registerWasmTrainingKernels();
    const variant = useKernelVariant(opts.kernels ?? 'auto');
    const setup = await useWasmBackend(opts);
    const simd = setup.simd ? 'SIMD' : 'no SIMD';
    const threads = `${setup.threads} thread${setup.threads > 1 ? 's' : ''}`;
    const relaxed = variant === 'relaxed-simd';
    const kernels = relaxed ? 'relaxed SIMD, fused multiply-add'
      : `SIMD${relaxedSimdSupported() ? '' : `; relaxed SIMD needs a newer engine than V8 ${process.versions.v8}`}`;
    return {
      name, tfBackend: tf.getBackend(), threads: setup.threads,
      detail: `WebAssembly (XNNPACK, ${simd}, ${threads}; training kernels: ${kernels})`,
      summary: `wasm (${relaxed ? 'relaxed SIMD' : simd}, ${threads})`,
    };
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js cpu backend failed to start');
  return { name, tfBackend: tf.getBackend(), threads: 1, detail: 'TF.js plain JavaScript (slow: for checks only)', summary: 'cpu (plain JavaScript)' };
}

function isNative(name: BackendName): name is keyof typeof NATIVE_PACKAGES {
  return name in NATIVE_PACKAGES;
}
