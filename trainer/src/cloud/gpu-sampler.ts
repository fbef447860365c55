import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { GPU_QUERY_FIELDS, parseGpuReading } from './gpu-metrics';

export interface GpuSamplerOptions {
  /** Seconds between readings (nvidia-smi's own loop). */
  readonly intervalSeconds: number;
  readonly log: (line: string) => void;
  /** Its PATH finds nvidia-smi. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export interface GpuSampler {
  /** Ends the sampling; a reading still being gathered is delivered first. */
  stop(): void;
}

/**
 * Reads every GPU every few seconds with `nvidia-smi --loop`, a process of its own: a training
 * step holds this thread for seconds, but nvidia-smi keeps its time and its lines wait in the pipe
 * until this thread reads them, so no reading is lost or skewed. `onSample` gets one record per
 * round, every GPU's metrics in it. A missing or failing nvidia-smi is logged once and ends the
 * sampling; training goes on.
 */
export function sampleGpus(onSample: (metrics: Record<string, number>) => void, options: GpuSamplerOptions): GpuSampler {
  const child = spawn('nvidia-smi', [
    `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits', `--loop=${options.intervalSeconds}`,
  ], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
  let stopped = false;
  let round: Record<string, number> = {};
  let lastGpu = -1;
  const deliver = () => {
    if (Object.keys(round).length) onSample(round);
    round = {};
  };
  createInterface({ input: child.stdout }).on('line', (line) => {
    const reading = parseGpuReading(line);
    if (!reading) return;
    // Each round lists the GPUs in index order: a lower or equal index starts the next round.
    if (reading.gpu <= lastGpu) deliver();
    lastGpu = reading.gpu;
    Object.assign(round, reading.metrics);
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-500); });
  child.on('error', (error) => options.log(`GPU metrics: cannot run nvidia-smi (${error.message}); the run goes on without them`));
  child.on('exit', (code, signal) => {
    if (!stopped) options.log(`GPU metrics: nvidia-smi ended (${signal ?? `exit code ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}); no more GPU readings`);
  });
  // A process that ends without stopping the sampler (a second Ctrl-C) must not leave nvidia-smi looping.
  const killChild = () => child.kill();
  process.once('exit', killChild);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', killChild);
      child.kill();
      deliver();
    },
  };
}
