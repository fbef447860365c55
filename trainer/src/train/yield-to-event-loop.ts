/**
 * Resolves after a turn of Node's event loop (a macrotask). TF.js calls such as `trainOnBatch` and
 * `data()` settle through promise microtasks only, so a loop of them never lets the event loop run:
 * signal handlers, timers (spot-notice polls, MLflow retries) and sockets would all wait for the
 * loop to end. Awaiting this once per step lets them in at the cost of microseconds.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
