import { Worker } from 'node:worker_threads';

/** A view on the shared heap: byte offset and element count of a float32 array. */
export type HeapSpan = readonly [number, number];

/** One part of the work: the float32 arrays the function takes, then plain arguments. */
export interface HeapJob {
  readonly spans: readonly HeapSpan[];
  readonly args: readonly unknown[];
}

// A helper that does not answer within this is taken as dead (its work would otherwise block forever).
const WAIT_MS = 60_000;

/**
 * Runs a pure JavaScript function on parts of the threaded wasm heap (a SharedArrayBuffer) on
 * helper threads while this thread does the first part: for the kernels we write in JavaScript,
 * which would otherwise leave the cores XNNPACK uses idle. The functions travel as source text,
 * so they must use nothing but their arguments, each other and globals. The entry is inlined as
 * an expression, not called by name: a bundler may rename declarations.
 */
export class HeapWorkers {
  private readonly workers: Worker[] = [];

  constructor(
    private readonly entry: (...args: never[]) => void,
    private readonly helpers: ReadonlyArray<(...args: never[]) => void> = [],
  ) {}

  /** Part 0 runs here, part i on helper i; returns when all are done. */
  run(heap: SharedArrayBuffer, jobs: readonly HeapJob[], here: () => void): void {
    while (this.workers.length < jobs.length - 1) this.workers.push(this.start());
    const status = new Int32Array(new SharedArrayBuffer(8));
    status[0] = jobs.length - 1;
    jobs.slice(1).forEach((job, i) => this.workers[i].postMessage({ heap, status, ...job }));
    try {
      here();
    } finally {
      // Wait even when this thread's part failed: the helpers are still writing to the heap.
      for (let left = Atomics.load(status, 0); left > 0; left = Atomics.load(status, 0)) {
        if (Atomics.wait(status, 0, left, WAIT_MS) === 'timed-out') throw new Error(`${this.entry.name}: a helper thread did not finish`);
      }
    }
    if (status[1] !== 0) throw new Error(`${this.entry.name} failed on a helper thread`);
  }

  private start(): Worker {
    const source = `
      const { parentPort } = require('node:worker_threads');
      ${this.helpers.map((f) => f.toString()).join('\n')}
      const entry = (${this.entry.toString()});
      parentPort.on('message', ({ heap, status, spans, args }) => {
        try {
          entry(...spans.map(([offset, length]) => new Float32Array(heap, offset, length)), ...args);
        } catch (error) {
          Atomics.store(status, 1, 1);
        }
        Atomics.sub(status, 0, 1);
        Atomics.notify(status, 0);
      });`;
    const worker = new Worker(source, { eval: true });
    // Idle helpers must not keep the process alive.
    worker.unref();
    return worker;
  }
}
