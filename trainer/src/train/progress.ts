import { SingleBar } from 'cli-progress';
import { formatEta } from '../data/progress';
import { formatMetric } from '../evaluate/html';
import { fitProgressLine, type ProgressLine } from './progress-line';

/** What the training loop reports while it runs; the CLI draws it, tests can record it. */
export interface TrainingProgress {
  /** `firstStep` > 0 when a resumed epoch continues where it stopped. */
  epochStart(epoch: number, epochs: number, steps: number, firstStep?: number): void;
  step(step: number, values: StepValues): void;
  /** `best`: the epoch has the lowest validation loss so far, and its line ends with BEST_MARK. */
  epochEnd(line: string, best?: boolean): void;
}

/** Ends the summary line of an epoch whose validation loss is the lowest so far. */
export const BEST_MARK = '*best';
/** Said under the first marked line a command prints, once. */
const BEST_NOTE = `  ${BEST_MARK}: the lowest validation loss so far; the run keeps the weights of its best epoch`;

/** Writes epoch summary lines, explaining the first BEST_MARK. */
function summaryWriter(stream: NodeJS.WriteStream): (line: string, best?: boolean) => void {
  let explained = false;
  return (line, best) => {
    stream.write(`${line}\n`);
    if (best && !explained) stream.write(`${BEST_NOTE}\n`);
    explained ||= Boolean(best);
  };
}

export interface StepValues {
  readonly loss: number;
  readonly accuracy: number;
  readonly imagesPerSecond: number;
}

export interface TerminalProgressOptions {
  /** Without a terminal, a line at least this often... @default 30 s */
  readonly logEveryMs?: number;
  /** ...and at every tenth of an epoch. @default 10 */
  readonly logEveryPercent?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * A bar per epoch on a terminal, fitted to its width (see `fitProgressLine`); without one
 * (CloudWatch, CI, `tee`, `nohup`) a plain line every tenth of an epoch and at least every 30 s,
 * so a log shows a live run. Both give the ETA of the whole run, the log that of the epoch too.
 * Summary lines either way.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, options: TerminalProgressOptions = {}): TrainingProgress {
  return stream.isTTY ? barProgress(stream, options) : logProgress(stream, options);
}

/** Seconds until the epoch and the whole run end, at the pace seen so far. */
export interface Eta {
  readonly epoch: number;
  readonly run: number;
}

/**
 * Estimates the ETAs from the steps of this epoch and the whole epochs before it (their
 * validation, checkpoint and logging included, timed from one epoch's start to the next's), so the
 * run's ETA does not take an epoch for its training steps alone. Early stopping (`--patience`) can
 * end a run sooner than it says.
 */
export function etaClock(now: () => number = Date.now) {
  const epochSeconds: number[] = [];
  const tailSeconds: number[] = [];
  let current = { epoch: 0, epochs: 0, steps: 0, firstStep: 0, started: 0, lastStepAt: 0, lastStep: 0 };
  const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  return {
    epochStart(epoch: number, epochs: number, steps: number, firstStep = 0): void {
      const at = now();
      // The epoch before ran whole in this process: its time counts, validation and all.
      if (current.steps > 0 && current.firstStep === 0 && current.lastStep === current.steps) {
        epochSeconds.push((at - current.started) / 1000);
        tailSeconds.push((at - current.lastStepAt) / 1000);
      }
      current = { epoch, epochs, steps, firstStep, started: at, lastStepAt: at, lastStep: firstStep };
    },
    /** After `step` of the epoch's steps; undefined until a step has been timed. */
    step(step: number): Eta | undefined {
      current.lastStepAt = now();
      current.lastStep = step;
      const timed = step - current.firstStep;
      if (timed <= 0) return undefined;
      const perStep = (current.lastStepAt - current.started) / 1000 / timed;
      const epochLeft = perStep * (current.steps - step);
      const tail = tailSeconds.length ? mean(tailSeconds) : 0;
      const wholeEpoch = epochSeconds.length ? mean(epochSeconds) : perStep * current.steps;
      return { epoch: epochLeft, run: epochLeft + tail + (current.epochs - current.epoch) * wholeEpoch };
    },
  };
}

function barProgress(stream: NodeJS.WriteStream, options: TerminalProgressOptions): TrainingProgress {
  const clock = etaClock(options.now);
  const writeSummary = summaryWriter(stream);
  let bar: SingleBar | undefined;
  let line: ProgressLine | undefined;
  return {
    epochStart(epoch, epochs, steps, firstStep = 0) {
      clock.epochStart(epoch, epochs, steps, firstStep);
      line = { epoch, epochs, step: firstStep, steps };
      bar = new SingleBar({
        stream,
        // Composed at every redraw for the window's width then, so a resized window still fits.
        format: (_options, params) => fitProgressLine({ ...(line as ProgressLine), step: params.value }, params.maxWidth),
        hideCursor: true,
        clearOnComplete: true,
      });
      bar.start(steps, firstStep);
    },
    step(step, values) {
      if (!line) return;
      line = { ...line, step, ...values, runEta: clock.step(step)?.run };
      bar?.update(step);
    },
    epochEnd(text, best) {
      bar?.stop();
      bar = undefined;
      writeSummary(text, best);
    },
  };
}

function logProgress(stream: NodeJS.WriteStream, options: TerminalProgressOptions): TrainingProgress {
  const now = options.now ?? Date.now;
  const clock = etaClock(now);
  const writeSummary = summaryWriter(stream);
  const everyMs = options.logEveryMs ?? 30_000;
  const everyPercent = options.logEveryPercent ?? 10;
  let epochLabel = '';
  let total = 0;
  let lastLine = 0;
  let nextPercent = 0;
  return {
    epochStart(epoch, epochs, steps, firstStep = 0) {
      clock.epochStart(epoch, epochs, steps, firstStep);
      epochLabel = `epoch ${epoch}/${epochs}`;
      total = steps;
      lastLine = now();
      nextPercent = (Math.floor((100 * firstStep) / steps / everyPercent) + 1) * everyPercent;
      if (firstStep > 0) stream.write(`${epochLabel}  resuming at step ${firstStep + 1} of ${steps}\n`);
    },
    step(step, values) {
      const eta = clock.step(step);
      const percent = (100 * step) / total;
      // The epoch's last step is followed by its summary line.
      if (step >= total || (percent < nextPercent && now() - lastLine < everyMs)) return;
      while (nextPercent <= percent) nextPercent += everyPercent;
      lastLine = now();
      const etas = eta ? `epoch ETA ${formatEta(eta.epoch)}  run ETA ${formatEta(eta.run)}` : 'ETA ?';
      stream.write(`${epochLabel}  step ${step}/${total} (${Math.floor(percent)}%)  loss ${formatMetric(values.loss)}  `
        + `acc ${formatMetric(values.accuracy)}  ${values.imagesPerSecond.toFixed(0)} img/s  ${etas}\n`);
    },
    epochEnd: writeSummary,
  };
}

export const silentProgress: TrainingProgress = { epochStart() {}, step() {}, epochEnd() {} };
