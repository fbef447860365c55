/**
 * nvidia-smi's readings under MLflow's own system-metric names (mlflow/system_metrics/metrics/
 * gpu_monitor.py), so the MLflow UI shows them beside those of Python runs: `system/gpu_0_...`.
 */

/** The fields asked of `nvidia-smi --query-gpu`, in this order. */
export const GPU_QUERY_FIELDS = ['index', 'utilization.gpu', 'memory.used', 'memory.total', 'power.draw', 'enforced.power.limit'] as const;

/** MLflow logs memory in megabytes (bytes / 1e6); nvidia-smi reports MiB. */
const MB_PER_MIB = 1.048576;

export interface GpuReading {
  readonly gpu: number;
  readonly metrics: Readonly<Record<string, number>>;
}

/**
 * One line of `nvidia-smi --query-gpu=<GPU_QUERY_FIELDS> --format=csv,noheader,nounits`; fields a
 * GPU does not report (`[N/A]`, `[Not Supported]`) are left out. Undefined for a line that is not
 * a reading at all.
 */
export function parseGpuReading(line: string): GpuReading | undefined {
  const fields = line.split(',').map((field) => field.trim());
  if (fields.length !== GPU_QUERY_FIELDS.length) return undefined;
  const [gpu, utilization, used, total, power, limit] = fields.map((field) => (/^-?\d+(\.\d+)?$/.test(field) ? Number(field) : undefined));
  if (gpu === undefined || !Number.isInteger(gpu)) return undefined;
  const name = (metric: string) => `system/gpu_${gpu}_${metric}`;
  const metrics: Record<string, number> = {};
  if (utilization !== undefined) metrics[name('utilization_percentage')] = utilization;
  if (used !== undefined) metrics[name('memory_usage_megabytes')] = round(used * MB_PER_MIB);
  if (used !== undefined && total) metrics[name('memory_usage_percentage')] = round((used / total) * 100);
  if (power !== undefined) metrics[name('power_usage_watts')] = power;
  if (power !== undefined && limit) metrics[name('power_usage_percentage')] = round((power / limit) * 100);
  return { gpu, metrics };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
