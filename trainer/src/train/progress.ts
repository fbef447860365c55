import { SingleBar } from 'cli-progress';
import { barSizeFor, formatEta } from '../data/progress';
import { formatMetric } from '../evaluate/html';

/** What the training loop reports while it runs; the CLI draws it, tests can record it. */
export interface TrainingProgress {
  /** `firstStep` > 0 when a resumed epoch continues where it stopped. */
  epochStart(epoch: number, epochs: number, steps: number, firstStep?: number): void;
  step(step: number, values: StepValues): void;
  epochEnd(line: string): void;
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
 * A bar per epoch on a terminal, fitted to its width; without one (CloudWatch, CI, `tee`,
 * `nohup`) a plain line every tenth of an epoch and at least every 30 s, so a log shows a live
 * run. Summary lines either way.
 */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, options: TerminalProgressOptions = {}): TrainingProgress {
  return stream.isTTY ? barProgress(stream) : logProgress(stream, options);
}

function barProgress(stream: NodeJS.WriteStream): TrainingProgress {
  let bar: SingleBar | undefined;
  return {
    epochStart(epoch, epochs, steps, firstStep = 0) {
      const head = `epoch ${epoch}/${epochs}`;
      const tail = `${steps}/${steps} loss 0.0000 acc 0.000 99999 img/s ETA 59m59s`;
      bar = new SingleBar({
        stream,
        format: `${head} [{bar}] {value}/{total} loss {loss} acc {accuracy} {rate} img/s ETA {eta_formatted}`,
        barsize: barSizeFor(stream, `${head} [] ${tail}`),
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      });
      bar.start(steps, firstStep, { loss: '-', accuracy: '-', rate: '-' });
    },
    step(step, values) {
      bar?.update(step, {
        loss: values.loss.toFixed(4),
        accuracy: formatMetric(values.accuracy),
        rate: values.imagesPerSecond.toFixed(0),
      });
    },
    epochEnd(line) {
      bar?.stop();
      bar = undefined;
      stream.write(`${line}\n`);
    },
  };
}

function logProgress(stream: NodeJS.WriteStream, options: TerminalProgressOptions): TrainingProgress {
  const now = options.now ?? Date.now;
  const everyMs = options.logEveryMs ?? 30_000;
  const everyPercent = options.logEveryPercent ?? 10;
  let epochLabel = '';
  let total = 0;
  let lastLine = 0;
  let nextPercent = 0;
  let startStep = 0;
  let started = 0;
  return {
    epochStart(epoch, epochs, steps, firstStep = 0) {
      epochLabel = `epoch ${epoch}/${epochs}`;
      total = steps;
      startStep = firstStep;
      started = lastLine = now();
      nextPercent = (Math.floor((100 * firstStep) / steps / everyPercent) + 1) * everyPercent;
      if (firstStep > 0) stream.write(`${epochLabel}  resuming at step ${firstStep + 1} of ${steps}\n`);
    },
    step(step, values) {
      const percent = (100 * step) / total;
      // The epoch's last step is followed by its summary line.
      if (step >= total || (percent < nextPercent && now() - lastLine < everyMs)) return;
      while (nextPercent <= percent) nextPercent += everyPercent;
      lastLine = now();
      const secondsPerStep = (lastLine - started) / 1000 / Math.max(step - startStep, 1);
      stream.write(`${epochLabel}  step ${step}/${total} (${Math.floor(percent)}%)  loss ${values.loss.toFixed(4)}  `
        + `acc ${formatMetric(values.accuracy)}  ${values.imagesPerSecond.toFixed(0)} img/s  ETA ${formatEta(secondsPerStep * (total - step))}\n`);
    },
    epochEnd(line) {
      stream.write(`${line}\n`);
    },
  };
}

export const silentProgress: TrainingProgress = { epochStart() {}, step() {}, epochEnd() {} };
