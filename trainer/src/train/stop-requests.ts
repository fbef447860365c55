/** How a run learns that it should stop: what the pipeline sees of Ctrl-C, SIGTERM and spot notices. */
export interface StopControl {
  /** Aborted by the first request: training stops after the current step and the run ends KILLED. */
  readonly signal: AbortSignal;
  /**
   * `cleanup` runs if a later request makes the process quit: its synchronous part at once (write
   * the final status of the run record there), and a promise it returns is waited for, up to a
   * few seconds (telling a tracking server). Returns a function that removes it.
   */
  onForcedExit(cleanup: () => void | Promise<void>): () => void;
  /**
   * What a first request does from now on, in the words the console shows: `stopping after this
   * step...` while training (STOP_DURING_TRAINING), something else once training is over.
   */
  describeStop(effect: string): void;
}

/** What a first request does while training, until the pipeline says otherwise. */
export const STOP_DURING_TRAINING = 'stopping after this step and saving the best model so far';

/** How long a forced exit waits for its cleanups (ending the run in MLflow) before quitting anyway. */
export const FORCED_EXIT_GRACE_MS = 5000;

/**
 * First request: stop gracefully. Second: run the cleanups and quit once they are done, within
 * the grace period. Any further one: quit at once.
 */
export class StopRequests implements StopControl {
  private readonly controller = new AbortController();
  private readonly cleanups = new Set<() => void | Promise<void>>();
  private quitting = false;
  private effect = STOP_DURING_TRAINING;

  constructor(private readonly quit: () => never, private readonly graceMs = FORCED_EXIT_GRACE_MS) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** What the next request does, as the console says it. */
  get nextEffect(): string {
    if (!this.signal.aborted) return `${this.effect} (again to quit at once)`;
    return this.quitting ? 'quitting now (third stop request)' : 'quitting at once (second stop request)';
  }

  onForcedExit(cleanup: () => void | Promise<void>): () => void {
    this.cleanups.add(cleanup);
    return () => this.cleanups.delete(cleanup);
  }

  describeStop(effect: string): void {
    this.effect = effect;
  }

  /** `stopping` for the first request, `quitting` for the second (the process quits within the grace period); a third does not return. */
  request(): 'stopping' | 'quitting' {
    if (!this.controller.signal.aborted) {
      this.controller.abort();
      return 'stopping';
    }
    if (this.quitting) return this.quit();
    this.quitting = true;
    const pending = [...this.cleanups].map((cleanup) => {
      try {
        return Promise.resolve(cleanup()).catch(() => undefined);
      } catch {
        // Quitting matters more than a record that cannot be written.
        return undefined;
      }
    });
    const grace = new Promise<void>((resolve) => setTimeout(resolve, this.graceMs));
    void Promise.race([Promise.all(pending), grace]).then(() => this.quit());
    return 'quitting';
  }
}
