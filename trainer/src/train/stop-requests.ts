/** How a run learns that it should stop: what the pipeline sees of Ctrl-C, SIGTERM and spot notices. */
export interface StopControl {
  /** Aborted by the first request: training stops after the current step and the run ends KILLED. */
  readonly signal: AbortSignal;
  /**
   * `cleanup` runs, synchronously, if a later request makes the process quit at once (it must not
   * wait for anything: write the final status of the run record). Returns a function that removes it.
   */
  onForcedExit(cleanup: () => void): () => void;
}

/** First request: stop gracefully. Any further one: run the cleanups and quit at once. */
export class StopRequests implements StopControl {
  private readonly controller = new AbortController();
  private readonly cleanups = new Set<() => void>();

  constructor(private readonly quit: () => never) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  onForcedExit(cleanup: () => void): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  /** Returns `stopping` for the first request; a later one does not return. */
  request(): 'stopping' {
    if (!this.controller.signal.aborted) {
      this.controller.abort();
      return 'stopping';
    }
    for (const cleanup of this.cleanups) {
      try {
        cleanup();
      } catch {
        // Quitting at once matters more than a record that cannot be written.
      }
    }
    return this.quit();
  }
}
