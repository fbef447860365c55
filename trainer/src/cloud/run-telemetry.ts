import { performance } from 'node:perf_hooks';
import { RunTracking, type OpenTracking, type ServerTracker } from '../tracking/run-tracking';
import type { DatasetInput, ParamValue, RunEnd, RunStart } from '../tracking/tracker';
import { execRunner, gpuInfo, type CommandRunner } from './gpu';
import { GPU_INSTANCE_SPECS } from './gpu-instances';
import { sampleGpus, type GpuSampler } from './gpu-sampler';
import { instanceIdentity, type MetadataOptions } from './instance-metadata';
import { hourlyPrice, type HourlyPrice } from './prices';

/**
 * What a cloud run logs about its cost, for the sweep comparison and anyone reading MLflow. Under
 * `system/`, beside the GPU readings: MLflow shows them with the system metrics, and their steps
 * are not epochs.
 */
export const COST_METRICS = {
  /** Seconds the run held its GPUs (wall time since the trainer started, times the GPUs it sees), every attempt included. */
  gpuSeconds: 'system/gpu_seconds',
  /** Estimated US dollars: GPU hours times the instance's hourly price per GPU (prices.ts). */
  costUsd: 'system/cost_usd',
  /** The instance's hourly price the estimate used. */
  instancePrice: 'system/instance_price_usd_per_hour',
} as const;

/** Tag naming the price the estimate used (tags instance_type and instance_lifecycle come from gpu.ts). */
export const COST_BASIS_TAG = 'cost_basis';

export interface CloudTelemetryOptions {
  readonly log: (line: string) => void;
  /** @default 5 */
  readonly intervalSeconds?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly metadata?: MetadataOptions;
  /** Runs nvidia-smi once to count the GPUs this run sees. */
  readonly runner?: CommandRunner;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
  /** When the GPU time starts. @default when this process started */
  readonly startedAt?: number;
}

/**
 * A cloud run's tracking, plus what running on a GPU instance costs: the GPUs' utilisation,
 * memory and power every few seconds under MLflow's system-metric names, and its GPU time and
 * estimated cost in dollars, kept up to date while it runs (a run killed without warning keeps the
 * last figures) and final when it ends. They go to the tracking server only: the run folder's
 * metrics are its epochs. Made at the command's edge for --require-gpu runs.
 */
export function withCloudTelemetry(open: OpenTracking, options: CloudTelemetryOptions): OpenTracking {
  return (run) => {
    const tracking = open(run);
    if (!tracking.server) return tracking;
    return new RunTracking(tracking.folder, new TelemetryTracker(tracking.server, options), tracking.serverName);
  };
}

/** The first system metric every GPU reports; its last step tells a resumed run where to go on. */
const STEP_METRIC = 'system/gpu_0_utilization_percentage';

class TelemetryTracker implements ServerTracker {
  private sampler?: GpuSampler;
  private readonly clock: () => number;
  private readonly startedAt: number;
  /** GPU seconds of earlier attempts of this run (a resumed run). */
  private priorGpuSeconds = 0;
  private gpus = 1;
  /** Dollars per GPU-second; undefined where the price table has no figure. */
  private pricePerGpuSecond?: number;
  private nextStep = 0;
  private ending = false;

  constructor(private readonly inner: ServerTracker, private readonly options: CloudTelemetryOptions) {
    this.clock = options.clock ?? Date.now;
    this.startedAt = options.startedAt ?? performance.timeOrigin;
  }

  get runId(): string | undefined {
    return this.inner.runId;
  }

  lastLoggedStep(metric: string): Promise<number | undefined> {
    return this.inner.lastLoggedStep(metric);
  }

  async startRun(start: RunStart): Promise<void> {
    await this.inner.startRun(start);
    const { log } = this.options;
    const env = this.options.env ?? process.env;
    const [instance, visible, lastGpuSeconds, lastStep] = await Promise.all([
      instanceIdentity({ env, ...this.options.metadata }),
      gpuInfo(this.options.runner ?? execRunner),
      this.inner.lastLoggedStep(COST_METRICS.gpuSeconds),
      this.inner.lastLoggedStep(STEP_METRIC),
    ]);
    this.gpus = Math.max(1, visible.length);
    // gpu_seconds is logged at the step of its own whole seconds, so its last step is the earlier attempts' total.
    this.priorGpuSeconds = lastGpuSeconds ?? 0;
    this.nextStep = lastStep ? lastStep + 1 : 0;

    const price = instance && hourlyPrice(instance.instanceType, instance.region, instance.lifecycle === 'spot' ? 'spot' : 'on-demand');
    if (price && instance) {
      const instanceGpus = GPU_INSTANCE_SPECS[instance.instanceType]?.gpus ?? this.gpus;
      this.pricePerGpuSecond = price.usdPerHour / instanceGpus / 3600;
      await this.inner.setTags({ [COST_BASIS_TAG]: costBasis(price, instanceGpus) });
      await this.inner.logMetrics({ [COST_METRICS.instancePrice]: price.usdPerHour }, 0);
    } else {
      log(instance
        ? `cost: prices.ts has no ${instance.lifecycle ?? 'on-demand'} price for ${instance.instanceType} in ${instance.region}; logging GPU time only (add it there)`
        : 'cost: no instance metadata (not on EC2); logging GPU time only');
    }
    this.sampler = sampleGpus((metrics) => this.record(metrics), {
      intervalSeconds: this.options.intervalSeconds ?? 5,
      log,
      env,
    });
  }

  logParams(params: Readonly<Record<string, ParamValue>>): Promise<void> {
    return this.inner.logParams(params);
  }

  setTags(tags: Readonly<Record<string, string>>): Promise<void> {
    return this.inner.setTags(tags);
  }

  logMetrics(metrics: Readonly<Record<string, number>>, step: number): Promise<void> {
    return this.inner.logMetrics(metrics, step);
  }

  logDataset(input: DatasetInput): Promise<void> {
    return this.inner.logDataset(input);
  }

  /** The last readings and the final GPU time and cost go in before the run ends. */
  async endRun(end: RunEnd): Promise<void> {
    this.ending = true;
    this.sampler?.stop();
    this.sampler = undefined;
    await this.logCost();
    return this.inner.endRun(end);
  }

  private record(metrics: Record<string, number>): void {
    const step = this.nextStep++;
    // Readings arrive between training steps; sending them must never interrupt training.
    this.inner.logMetrics(metrics, step).then(() => (this.ending ? undefined : this.logCost())).catch((error: unknown) => {
      this.options.log(`GPU metrics: could not record a reading (${(error as Error).message})`);
    });
  }

  private logCost(): Promise<void> {
    const gpuSeconds = this.priorGpuSeconds + (Math.max(0, this.clock() - this.startedAt) / 1000) * this.gpus;
    const metrics: Record<string, number> = { [COST_METRICS.gpuSeconds]: Math.round(gpuSeconds * 10) / 10 };
    if (this.pricePerGpuSecond !== undefined) metrics[COST_METRICS.costUsd] = Math.round(gpuSeconds * this.pricePerGpuSecond * 10_000) / 10_000;
    return this.inner.logMetrics(metrics, Math.floor(gpuSeconds));
  }
}

function costBasis(price: HourlyPrice, instanceGpus: number): string {
  const share = instanceGpus > 1 ? `, shared by ${instanceGpus} GPUs` : '';
  return `$${price.usdPerHour}/h ${price.source}${share} (trainer/src/cloud/prices.ts)`;
}
