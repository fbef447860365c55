export interface MicroBatcherProps<T, R> {
  /** Most items handed to `run` at once. */
  readonly maxBatch: number;
  /** How long the first queued item waits for others before its batch runs anyway. */
  readonly maxWaitMs: number;
  /** Computes one result per item, in order. Only one call runs at a time. */
  readonly run: (items: readonly T[]) => Promise<readonly R[]> | readonly R[];
}

interface Pending<T, R> {
  readonly item: T;
  readonly request: RequestSlot<R>;
  readonly index: number;
}

interface RequestSlot<R> {
  readonly results: R[];
  remaining: number;
  failed: boolean;
  readonly resolve: (results: R[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Groups the items of concurrent requests into batches of at most `maxBatch`: the model runs
 * once for many small requests, and a large request is split. While one batch runs, newly
 * arriving items queue up for the next, so under load batches fill without any waiting.
 */
export class MicroBatcher<T, R> {
  private readonly queue: Pending<T, R>[] = [];
  private timer?: NodeJS.Timeout;
  private running = false;

  constructor(private readonly props: MicroBatcherProps<T, R>) {
    if (!(props.maxBatch >= 1)) throw new Error(`maxBatch must be at least 1, got ${props.maxBatch}`);
  }

  /** Resolves with one result per item once all of them have been through a batch; rejects if any batch failed. */
  submit(items: readonly T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      const request: RequestSlot<R> = { results: new Array<R>(items.length), remaining: items.length, failed: false, resolve, reject };
      items.forEach((item, index) => this.queue.push({ item, request, index }));
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.queue.length >= this.props.maxBatch || this.props.maxWaitMs <= 0) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.props.maxWaitMs);
    }
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.queue.splice(0, this.props.maxBatch);
    this.running = true;
    void this.runBatch(batch).finally(() => {
      this.running = false;
      // Items that queued during the run have waited long enough: run them now.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async runBatch(batch: readonly Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.props.run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch of ${batch.length} returned ${results.length} results`);
      batch.forEach((p, i) => settle(p, results[i]));
    } catch (error) {
      for (const { request } of batch) {
        if (!request.failed) {
          request.failed = true;
          request.reject(error);
        }
      }
    }
  }
}

function settle<T, R>(pending: Pending<T, R>, result: R): void {
  const { request } = pending;
  if (request.failed) return;
  request.results[pending.index] = result;
  request.remaining -= 1;
  if (request.remaining === 0) request.resolve(request.results);
}
