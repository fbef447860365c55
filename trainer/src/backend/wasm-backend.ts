import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import threadedFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
import singleFactory from '@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm.js';

/** The emscripten worker source that TF.js ships as a string (no .d.ts). */
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
  wasmWorkerContents: string;
};

/** The threaded build pre-spawns this many workers, so XNNPACK can use at most this many threads. */
export const MAX_WASM_THREADS = 8;

export interface WasmSetup {
  /** XNNPACK threads actually running (1 = no workers). */
  readonly threads: number;
  readonly simd: boolean;
  /** The .wasm binary in use. */
  readonly binary: string;
}

export interface WasmBackendOptions {
  /** @default one per core (os.availableParallelism()), at most MAX_WASM_THREADS */
  readonly threads?: number;
  /**
   * Folder holding the tfjs-backend-wasm*.wasm binaries.
   * @default the installed package's dist/ folder, else the folder of the running script (a bundle)
   */
  readonly wasmDir?: string;
}

/**
 * Makes TF.js's `wasm` backend current, created by our own module factory. TF.js refuses threads under Node
 * (it hands the pthread workers blob: URLs, which Node's Worker cannot load), and caps XNNPACK at
 * half the logical cores (1 on a 2-core machine). Here the worker and main script are written to
 * files and the core count XNNPACK sees is set so that it runs `threads` threads.
 * The wasm kernels bind to whatever backend is registered under the name 'wasm'.
 */
export async function useWasmBackend(opts: WasmBackendOptions = {}): Promise<WasmSetup> {
  const threads = Math.max(1, Math.min(opts.threads ?? os.availableParallelism(), MAX_WASM_THREADS));
  const simd = wasmSimdSupported();
  const useThreads = threads > 1 && simd;
  const binaryName = useThreads ? 'tfjs-backend-wasm-threaded-simd.wasm'
    : simd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm';
  const binary = path.join(opts.wasmDir ?? defaultWasmDir(), binaryName);
  if (!fs.existsSync(binary)) {
    throw new Error(`the wasm backend needs ${binary} (copy it from node_modules/@tensorflow/tfjs-backend-wasm/dist/)`);
  }

  let setup: WasmSetup | undefined;
  if (tf.findBackendFactory('wasm') != null) {
    const previous = tf.findBackend('wasm') as BackendWasm | null;
    if (previous) for (const listener of removalListeners) listener(previous);
    tf.removeBackend('wasm');
  }
  tf.registerBackend('wasm', async () => {
    // Emscripten never settles its promise when our instantiation fails: race it with the failure.
    let failed: (error: unknown) => void = () => undefined;
    let memory: WebAssembly.Memory | undefined;
    const failure = new Promise<never>((_, reject) => { failed = reject; });
    const instantiateWasm = (imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance, m: WebAssembly.Module) => void) => {
      // XNNPACK sizes its pool as min(requested, logical cores / 2): report twice what we want.
      (imports.env as Record<string, unknown>).emscripten_num_logical_cores = () => 2 * threads;
      WebAssembly.instantiate(fs.readFileSync(binary), imports).then((r) => {
        // The threaded build imports its (shared) memory, the others export it.
        memory = (imports.env as { memory?: WebAssembly.Memory }).memory ?? (r.instance.exports.memory as WebAssembly.Memory);
        receive(r.instance, r.module);
      }, failed);
      return {};
    };
    const module = await Promise.race([failure, useThreads
      ? threadedFactory({
        instantiateWasm,
        locateFile: (file: string) => (file.endsWith('.worker.js') ? threadScripts().worker : file),
        mainScriptUrlOrBlob: threadScripts().main,
      })
      : singleFactory({ instantiateWasm })]);
    // Emscripten's cwrap (its type lives in @types/emscripten, which we do not install).
    const { cwrap } = module as unknown as { cwrap: (name: string, ret: string | null, args: string[]) => any };
    module.tfjs = {
      init: cwrap('init', null, []),
      initWithThreadsCount: cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: cwrap('get_threads_count', 'number', []),
      registerTensor: cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: cwrap('dispose_data', null, ['number']),
      dispose: cwrap('dispose', null, []),
    };
    setThreadsCount(threads);
    if (!memory) throw new Error(`the wasm backend started from ${binary} without a memory`);
    heaps.set(module, memory);
    const backend = new BackendWasm(module);
    setup = { threads: module.tfjs.getThreadsCount(), simd, binary };
    return backend;
  }, 2);
  if (!(await tf.setBackend('wasm')) || !setup) throw new Error(`the wasm backend failed to start from ${binary}`);
  return setup;
}

const heaps = new WeakMap<object, WebAssembly.Memory>();
const removalListeners: Array<(backend: BackendWasm) => void> = [];

/** Calls `listener` with a wasm backend that useWasmBackend is about to replace (to stop what runs on its heap). */
export function onWasmBackendReplaced(listener: (backend: BackendWasm) => void): void {
  removalListeners.push(listener);
}

/** The heap of a wasm backend started by useWasmBackend: shared between threads when it runs threaded. */
export function wasmHeap(backend: BackendWasm): WebAssembly.Memory {
  const memory = heaps.get(backend.wasm);
  if (!memory) throw new Error('the training kernels need the wasm backend started by useWasmBackend (selectBackend)');
  return memory;
}

function wasmSimdSupported(): boolean {
  // The smallest module using a v128 instruction (same probe as TF.js's WASM_HAS_SIMD_SUPPORT).
  return WebAssembly.validate(new Uint8Array([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11,
  ]));
}

function defaultWasmDir(): string {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    return __dirname;
  }
}

let scripts: { worker: string; main: string } | undefined;

/**
 * The pthread worker script and the module script each worker imports, written once per content
 * to the temp folder (workers need files; nothing has to be copied next to a bundle).
 */
function threadScripts(): { worker: string; main: string } {
  if (scripts) return scripts;
  // The worker source is a template literal in TF.js: its "\n" escapes arrived as real newlines.
  const worker = wasmWorkerContents.replace(/\n/g, '\\n');
  const main = `var WasmBackendModuleThreadedSimd = ${threadedFactory.toString()}`;
  scripts = { worker: writeOnce('worker.js', worker), main: writeOnce('main.js', main) };
  return scripts;
}

function writeOnce(name: string, contents: string): string {
  const hash = createHash('sha256').update(contents).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `tfjs-wasm-${hash}-${name}`);
  if (!fs.existsSync(file)) {
    const partial = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(partial, contents);
    fs.renameSync(partial, file);
  }
  return file;
}
