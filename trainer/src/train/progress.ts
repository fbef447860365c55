import { SingleBar } from 'cli-progress';

/** What the training loop reports while it runs; the CLI draws it, tests can record it. */
export interface TrainingProgress {
  epochStart(epoch: number, epochs: number, steps: number): void;
  step(step: number, values: { loss: number; accuracy: number; imagesPerSecond: number }): void;
  epochEnd(line: string): void;
}

/** A bar per epoch on a terminal (step, loss, accuracy, images/s, ETA); summary lines either way. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): TrainingProgress {
  let bar: SingleBar | undefined;
  return {
    epochStart(epoch, epochs, steps) {
      if (!stream.isTTY) return;
      bar = new SingleBar({
        stream,
        format: `epoch ${epoch}/${epochs} [{bar}] {value}/{total} | loss {loss} | acc {accuracy} | {rate} img/s | ETA {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 20,
      });
      bar.start(steps, 0, { loss: '-', accuracy: '-', rate: '-' });
    },
    step(step, values) {
      bar?.update(step, {
        loss: values.loss.toFixed(4),
        accuracy: values.accuracy.toFixed(4),
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

export const silentProgress: TrainingProgress = { epochStart() {}, step() {}, epochEnd() {} };
