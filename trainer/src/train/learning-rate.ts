export const LR_SCHEDULES = ['constant', 'cosine', 'plateau'] as const;
export type LrScheduleName = (typeof LR_SCHEDULES)[number];

export interface LrSchedule {
  readonly name: LrScheduleName;
  /** The learning rate training starts with (`--learning-rate`). */
  readonly base: number;
  /** plateau: epochs without a better validation loss before the rate is multiplied by `factor`. */
  readonly patience: number;
  /** plateau: what each reduction multiplies the rate by. */
  readonly factor: number;
}

/** Where training stands when a step's rate is chosen. Epochs count from 1, steps from 0. */
export interface TrainingPosition {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  /** Validation losses of the finished epochs, oldest first. */
  readonly valLosses: readonly number[];
}

// Below this a reduction no longer changes what a few more epochs learn; Keras' ReduceLROnPlateau
// has the same kind of floor (min_lr).
const PLATEAU_FLOOR_FRACTION = 1e-3;

/**
 * The learning rate of one training step. A pure function of where training stands, so a run
 * resumed from a checkpoint (which keeps the epoch history) continues the same schedule.
 * - constant: `base` throughout.
 * - cosine: half a cosine from `base` at the first step to 0 after the last step of the last
 *   epoch, step by step (Keras' CosineDecay with alpha 0): large steps early to explore, small
 *   ones late so the weights settle and validation loss stops jumping between epochs.
 * - plateau: `base`, multiplied by `factor` each time validation loss has not improved for
 *   `patience` epochs (Keras' ReduceLROnPlateau on val_loss, without cooldown).
 */
export function learningRateAt(schedule: LrSchedule, at: TrainingPosition): number {
  switch (schedule.name) {
    case 'constant':
      return schedule.base;
    case 'cosine': {
      const done = ((at.epoch - 1) * at.steps + at.step) / (at.epochs * at.steps);
      return schedule.base * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, done)));
    }
    case 'plateau':
      return plateauRate(schedule, at.valLosses);
  }
}

function plateauRate({ base, patience, factor }: LrSchedule, valLosses: readonly number[]): number {
  const floor = base * PLATEAU_FLOOR_FRACTION;
  let rate = base;
  let best = Infinity;
  let waited = 0;
  for (const loss of valLosses) {
    if (loss < best) {
      best = loss;
      waited = 0;
    } else if (++waited >= patience) {
      rate = Math.max(floor, rate * factor);
      waited = 0;
    }
  }
  return rate;
}
