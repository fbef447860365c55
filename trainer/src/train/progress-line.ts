import { formatEta } from '../data/progress';
import { formatMetric } from '../evaluate/html';

/** What one training progress line shows. */
export interface ProgressLine {
  readonly epoch: number;
  readonly epochs: number;
  readonly step: number;
  readonly steps: number;
  /** Running means over the epoch so far; absent before its first step. */
  readonly loss?: number;
  readonly accuracy?: number;
  readonly imagesPerSecond?: number;
  /** Seconds until the last epoch ends; absent until a step has been timed. */
  readonly runEta?: number;
}

/** A bar narrower than this says too little to be worth its room: it goes first. */
const MIN_BAR = 10;

/**
 * The progress line of a terminal `columns` wide, never wider than `columns - 1` (a full line
 * makes some terminals wrap). What a person watches for stays to the last: the epoch, loss,
 * accuracy and the ETA of the whole run. As the window narrows, the bar goes first, then the speed,
 * then the step count: `epoch 2/10 [=====-----] 120/344 loss 0.412 acc 0.812 152 img/s run ETA 12m40s`
 * at 80 columns, `epoch 2/10 loss 0.412 acc 0.812 run ETA 12m40s` at 50.
 */
export function fitProgressLine(line: ProgressLine, columns: number): string {
  const room = columns - 1;
  const shown = (value: number | undefined) => (value === undefined ? '-' : formatMetric(value));
  const parts = {
    epoch: `epoch ${line.epoch}/${line.epochs}`,
    steps: `${line.step}/${line.steps}`,
    loss: `loss ${shown(line.loss)}`,
    accuracy: `acc ${shown(line.accuracy)}`,
    speed: line.imagesPerSecond === undefined ? '' : `${line.imagesPerSecond.toFixed(0)} img/s`,
    eta: `run ETA ${line.runEta === undefined ? '?' : formatEta(line.runEta)}`,
  };
  const join = (...texts: string[]) => texts.filter(Boolean).join(' ');
  const withBar = (...rest: string[]) => {
    const text = join(parts.epoch, '[]', ...rest);
    const width = Math.min(room - text.length, 60);
    if (width < MIN_BAR) return undefined;
    const done = Math.round(width * Math.min(1, line.step / Math.max(line.steps, 1)));
    return text.replace('[]', `[${'='.repeat(done)}${'-'.repeat(width - done)}]`);
  };
  // Without the bar beside it, the step count says what it counts.
  const steps = `step ${parts.steps}`;
  const candidates = [
    withBar(parts.steps, parts.loss, parts.accuracy, parts.speed, parts.eta),
    join(parts.epoch, steps, parts.loss, parts.accuracy, parts.speed, parts.eta),
    join(parts.epoch, steps, parts.loss, parts.accuracy, parts.eta),
    join(parts.epoch, parts.loss, parts.accuracy, parts.eta),
  ];
  const fits = candidates.find((text) => text !== undefined && text.length <= room);
  return fits ?? (candidates.at(-1) as string).slice(0, Math.max(room, 0));
}
