import { SingleBar } from 'cli-progress';

/** Receives progress: work done so far, and the total when known. */
export type ProgressCallback = (done: number, total?: number) => void;

export interface ProgressOptions {
  /** What is being done, e.g. `decoding images` or `downloading cell_images.zip`. */
  readonly label: string;
  readonly total?: number;
  readonly unit: 'bytes' | 'images';
  /** Given: progress goes here and nothing is printed (tests, callers with their own display). */
  readonly onProgress?: ProgressCallback;
  /** @default process.stderr */
  readonly stream?: NodeJS.WriteStream;
}

export interface Progress {
  update(done: number, total?: number): void;
  /** Prints the final state (once). */
  finish(): void;
}

/** Longest wait between plain log lines when the output is not a terminal (CI, container logs). */
const LOG_EVERY_MS = 5000;
/** With a known total, a plain line also marks every tenth of the work. */
const LOG_STEPS = 10;

/**
 * Reports long work on stderr, so stdout stays for results: a cli-progress bar on a terminal,
 * otherwise a plain line a log file can keep at every 10% (with a known total) and at least every
 * few seconds.
 */
export function startProgress(opts: ProgressOptions): Progress {
  if (opts.onProgress) {
    const callback = opts.onProgress;
    let total = opts.total;
    return {
      update: (done, newTotal) => callback(done, (total = newTotal ?? total)),
      finish: () => undefined,
    };
  }
  const stream = opts.stream ?? process.stderr;
  return stream.isTTY ? barProgress(opts, stream) : logProgress(opts, stream);
}

/** Terminal width assumed when the stream does not say (80 columns, the classic window). */
const DEFAULT_COLUMNS = 80;

/**
 * Cells left for a bar on a line that also holds `widestText` (the line without the bar, at its
 * widest), so the whole line fits the terminal (or 80 columns) and never wraps into a mess.
 */
export function barSizeFor(stream: NodeJS.WriteStream, widestText: string): number {
  const columns = Math.min(stream.columns || DEFAULT_COLUMNS, 200);
  return Math.max(3, columns - 1 - widestText.length);
}

/** 75 -> `1m15s`, as a person reads an ETA. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function barProgress(opts: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const rate = opts.unit === 'bytes' ? '{speed}/s' : '{speed} images/s';
  const widest = opts.unit === 'bytes' ? '100% 999.9 MB/999.9 MB 999.99 GB/s ETA 59m59s' : '100% 999,999/999,999 99,999 images/s ETA 59m59s';
  const bar = new SingleBar({
    stream,
    format: `${opts.label} [{bar}] {percentage}% {value}/{total} ${rate} ETA {eta_formatted}`,
    barsize: barSizeFor(stream, `${opts.label} [] ${widest}`),
    formatValue: (value, _options, type) => (type === 'value' || type === 'total' ? amount(value, opts.unit) : String(value)),
    hideCursor: true,
    etaBuffer: 50,
  });
  const started = Date.now();
  const speed = (done: number) => amount(done / Math.max((Date.now() - started) / 1000, 1e-3), opts.unit);
  bar.start(opts.total ?? 0, 0, { speed: '0' });
  let stopped = false;
  return {
    update(done, total) {
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done, { speed: speed(done) });
    },
    finish() {
      if (!stopped) bar.stop();
      stopped = true;
    },
  };
}

function logProgress(opts: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const started = Date.now();
  let total = opts.total;
  let last = started;
  let latest = 0;
  let step = 0;
  let printed = -1;
  let finished = false;
  const line = (done: number) => {
    const seconds = Math.max((Date.now() - started) / 1000, 1e-3);
    const percent = total ? ` ${Math.floor((100 * done) / total)}%` : '';
    const of = total ? `/${amount(total, opts.unit)}` : '';
    stream.write(`${opts.label}:${percent} (${amount(done, opts.unit)}${of}, ${amount(done / seconds, opts.unit)}/s)\n`);
    printed = done;
  };
  return {
    update(done, newTotal) {
      total = newTotal ?? total;
      latest = done;
      const reached = total ? Math.floor((LOG_STEPS * done) / total) : 0;
      if (Date.now() - last >= LOG_EVERY_MS || (reached > step && done < (total ?? Infinity))) {
        last = Date.now();
        step = Math.max(step, reached);
        line(done);
      }
    },
    finish() {
      // The last line printed may already say it all.
      if (!finished && printed !== latest) line(latest);
      finished = true;
    },
  };
}

function amount(value: number, unit: ProgressOptions['unit']): string {
  if (unit === 'images') return Math.round(value).toLocaleString('en-US');
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)} GB`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)} MB`;
  return `${(value / 1e3).toFixed(0)} kB`;
}
