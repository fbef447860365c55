/** One line of `metrics.jsonl`: what an epoch achieved. Also the MLflow per-epoch metrics (step = epoch). */
export interface EpochRecord {
  /** 1-based. */
  readonly epoch: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
  readonly learning_rate: number;
  readonly epoch_seconds: number;
  readonly images_per_second: number;
}
