import { describeError, isTransient } from './errors';
import type { OutboxEntry, OutboxOp } from './outbox';

export type FlushOutcome =
  /** Every operation was sent or set aside as rejected. */
  | { readonly kind: 'drained' }
  /** The server stopped answering; the operation at the head and all after it wait. */
  | { readonly kind: 'unavailable'; readonly error: unknown }
  /** The run could not be created or resumed, so nothing after it can be sent. */
  | { readonly kind: 'blocked'; readonly error: unknown };

interface Queued {
  readonly seq: number;
  readonly op: OutboxOp;
  error?: string;
}

/**
 * Logging operations in call order. Sending stops at the first one the server cannot take now
 * (it and everything after it wait for the next flush); one the server rejects for good is set
 * aside with its error and the rest go on, so one bad value cannot hold back a whole run.
 */
export class OpQueue {
  private readonly waiting: Queued[] = [];
  private readonly rejected: Queued[] = [];
  private seq = 0;
  readonly sent = new Map<OutboxOp['op'], number>();

  push(op: OutboxOp, error?: string): void {
    this.waiting.push({ seq: this.seq++, op, error });
  }

  get size(): number {
    return this.waiting.length + this.rejected.length;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  async flush(send: (op: OutboxOp) => Promise<void>): Promise<FlushOutcome> {
    while (this.waiting.length) {
      const head = this.waiting[0];
      try {
        await send(head.op);
        this.waiting.shift();
        this.sent.set(head.op.op, (this.sent.get(head.op.op) ?? 0) + 1);
      } catch (error) {
        head.error = describeError(error);
        if (isTransient(error)) return { kind: 'unavailable', error };
        if (head.op.op === 'start') return { kind: 'blocked', error };
        this.rejected.push(this.waiting.shift() as Queued);
      }
    }
    return { kind: 'drained' };
  }

  /** Everything not sent, in call order, each with the last error it met. */
  unsent(): OutboxEntry[] {
    return [...this.rejected, ...this.waiting].sort((a, b) => a.seq - b.seq).map(({ op, error }) => ({ op, error }));
  }

  rejectedErrors(): string[] {
    return this.rejected.map((q) => `${q.op.op}: ${q.error}`);
  }
}
