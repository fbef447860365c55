import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

// A helper that does not answer within this is taken as dead (its work would otherwise block forever).
const WAIT_MS = 60_000;
// Arguments a kernel may take, besides the part and part count appended to them.
const MAX_ARGS = 32;

/** The control block's Int32 slots, shared with every helper. */
const enum Slot { Generation, Pending, Failed, Kernel, ArgCount, Parts }

export interface HeapWorkersOptions {
  /** The kernels module, compiled for a shared memory. */
  readonly module: WebAssembly.Module;
  /** The wasm backend's heap (shared). */
  readonly memory: WebAssembly.Memory;
  /** Names of the functions `run` may call, as the module exports them. */
  readonly kernels: readonly string[];
  /** For each helper, the top of a stack of its own on the heap. */
  readonly stackTops: readonly number[];
}

/**
 * Runs a kernel of the training-kernels module split into parts: part 0 on the calling thread,
 * part i on helper thread i, each helper holding its own instance of the module on the same
 * shared heap. A job is announced through a shared control block (a futex wake, not a message),
 * so a split costs microseconds. A failure on a helper reaches the caller with the helper's own
 * message and stack.
 */
export class HeapWorkers {
  private readonly control = new Int32Array(new SharedArrayBuffer(4 * 8));
  private readonly args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS));
  private readonly workers: Array<{ worker: Worker; errors: MessagePort }> = [];
  private jobsOnHelpers = 0;

  constructor(private readonly opts: HeapWorkersOptions) {}

  /** Helper threads available: a kernel runs in at most this many parts plus one. */
  get helpers(): number {
    return this.opts.stackTops.length;
  }

  /** Helper threads started (they start on first use). */
  get started(): number {
    return this.workers.length;
  }

  /** Stops the helper threads (each holds the heap it works on). */
  terminate(): void {
    for (const { worker, errors } of this.workers.splice(0)) {
      errors.close();
      void worker.terminate();
    }
  }

  /** Jobs that ran at least one part on a helper thread since this pool started. */
  get splitJobs(): number {
    return this.jobsOnHelpers;
  }

  /**
   * Runs `kernel(...args, part, parts)` for part = 1..parts-1 on the helpers while `here` runs
   * part 0 on this thread; returns when all parts are done.
   */
  run(kernel: string, args: readonly number[], parts: number, here: () => void): void {
    const index = this.opts.kernels.indexOf(kernel);
    if (index < 0) throw new Error(`HeapWorkers: unknown kernel ${kernel}`);
    if (args.length > MAX_ARGS) throw new Error(`HeapWorkers: ${kernel} takes at most ${MAX_ARGS} arguments`);
    if (parts < 1 || parts > this.helpers + 1) throw new Error(`HeapWorkers: ${parts} parts, but ${this.helpers} helper threads`);
    if (parts === 1) {
      here();
      return;
    }
    while (this.workers.length < parts - 1) this.workers.push(this.start(this.workers.length + 1));
    const c = this.control;
    this.args.set(args);
    c[Slot.Kernel] = index;
    c[Slot.ArgCount] = args.length;
    c[Slot.Parts] = parts;
    c[Slot.Failed] = 0;
    Atomics.store(c, Slot.Pending, parts - 1);
    Atomics.add(c, Slot.Generation, 1);
    Atomics.notify(c, Slot.Generation);
    this.jobsOnHelpers++;
    try {
      here();
    } finally {
      // Wait even when this thread's part failed: the helpers are still writing to the heap.
      for (let left = Atomics.load(c, Slot.Pending); left > 0; left = Atomics.load(c, Slot.Pending)) {
        if (Atomics.wait(c, Slot.Pending, left, WAIT_MS) === 'timed-out') {
          throw new Error(`${kernel}: a helper thread did not finish within ${WAIT_MS / 1000} s`);
        }
      }
    }
    if (c[Slot.Failed] !== 0) throw this.helperError(kernel);
  }

  /** The first error a helper reported, as an Error carrying the helper's message and stack. */
  private helperError(kernel: string): Error {
    for (const [i, { errors }] of this.workers.entries()) {
      const received = receiveMessageOnPort(errors);
      if (!received) continue;
      const { message, stack } = received.message as { message: string; stack?: string };
      const error = new Error(message);
      error.stack = `${stack ?? `Error: ${message}`}\n    at helper thread ${i + 1} running ${kernel}`;
      return error;
    }
    return new Error(`${kernel}: a helper thread failed without saying why`);
  }

  private start(part: number): { worker: Worker; errors: MessagePort } {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(HELPER_SOURCE, {
      eval: true,
      workerData: {
        module: this.opts.module, memory: this.opts.memory, kernels: this.opts.kernels, stackTop: this.opts.stackTops[part - 1],
        control: this.control.buffer, args: this.args.buffer, part, errors: port2,
        // The job count when it was made: jobs announced before it starts waiting are still its own.
        seen: Atomics.load(this.control, Slot.Generation),
      },
      transferList: [port2],
    });
    // Idle helpers must not keep the process alive.
    worker.unref();
    port1.unref();
    return { worker, errors: port1 };
  }
}

/**
 * A helper: instantiates the module on the shared heap with a stack of its own, then waits for
 * jobs. Plain JavaScript (it is evaluated as the worker's source).
 */
const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, kernels, stackTop, control, args, part, errors, seen: started } = workerData;
let exports, startError;
try {
  exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  exports.__stack_pointer.value = stackTop;
} catch (error) {
  startError = error;
}
const c = new Int32Array(control);
const argv = new Float64Array(args);
for (let seen = started; ; ) {
  Atomics.wait(c, ${Slot.Generation}, seen);
  const generation = Atomics.load(c, ${Slot.Generation});
  if (generation === seen) continue;
  seen = generation;
  const parts = c[${Slot.Parts}];
  if (part >= parts) continue;
  try {
    if (startError) throw startError;
    exports[kernels[c[${Slot.Kernel}]]](...argv.subarray(0, c[${Slot.ArgCount}]), part, parts);
  } catch (error) {
    errors.postMessage({ message: String(error && error.message !== undefined ? error.message : error), stack: error && error.stack });
    Atomics.store(c, ${Slot.Failed}, 1);
  }
  if (Atomics.sub(c, ${Slot.Pending}, 1) === 1) Atomics.notify(c, ${Slot.Pending});
}
`;
