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
  /** What it is in plain words, and why auto did not pick something faster: the command's `backend:` line. */
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
  const failed: string[] = [];
  const missing: BackendName[] = [];
  for (const name of AUTO_ORDER) {
    if (isNative(name) && !nativeInstalled(name)) {
      missing.push(name);
      continue;
    }
    try {
      const info = await start(name, opts);
      const why = whyNotFaster(name, missing, failed);
      return why ? { ...info, detail: `${info.detail}; ${why}` } : info;
    } catch (error) {
      failed.push(`${name} failed to start (${(error as Error).message})`);
    }
  }
  throw new Error(`no TF.js backend could start: ${[...missing.map((name) => `${NATIVE_PACKAGES[name as keyof typeof NATIVE_PACKAGES]} not installed`), ...failed].join('; ')}`);
}

/**
 * Why auto did not pick something faster than `chosen`, in plain words; undefined when there is
 * nothing to say. The GPU package is not missed on a machine without it: native TensorFlow on the
 * CPU is the step up there.
 */
function whyNotFaster(chosen: BackendName, missing: readonly BackendName[], failed: readonly string[]): string | undefined {
  const reasons = [...failed];
  if (missing.includes('tensorflow') && AUTO_ORDER.indexOf(chosen) > AUTO_ORDER.indexOf('tensorflow')) {
    reasons.push(`native TensorFlow, which is faster, is not installed (${NATIVE_PACKAGES.tensorflow}: \`npm ci\` with internet access installs it)`);
  }
  return reasons.length ? reasons.join('; ') : undefined;
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
      detail: `WebAssembly on the CPU (wasm), ${threads}${setup.simd ? ' with SIMD' : ', no SIMD'}; training kernels: ${kernels}`,
      summary: `wasm (${relaxed ? 'relaxed SIMD' : simd}, ${threads})`,
    };
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('the TF.js cpu backend failed to start');
  return { name, tfBackend: tf.getBackend(), threads: 1, detail: 'plain JavaScript on one CPU thread (cpu): slow, for checks only', summary: 'cpu (plain JavaScript)' };
}

function isNative(name: BackendName): name is keyof typeof NATIVE_PACKAGES {
  return name in NATIVE_PACKAGES;
}
