/**
 * vCPUs, memory and GPUs of the instance types a sweep may run on, from the EC2 instance type
 * pages (aws.amazon.com/ec2/instance-types/g4/, /g5/, /g6/). Batch places a job only where its
 * vCPU, memory and GPU requests fit, so the job definition is sized from this table.
 */
export interface GpuInstanceSize {
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly gpus: number;
}

const size = (vcpus: number, memoryGiB: number, gpus: number): GpuInstanceSize => ({ vcpus, memoryGiB, gpus });

export const SWEEP_INSTANCE_SIZES: Readonly<Record<string, GpuInstanceSize>> = {
  'g4dn.xlarge': size(4, 16, 1),
  'g4dn.2xlarge': size(8, 32, 1),
  'g4dn.4xlarge': size(16, 64, 1),
  'g4dn.8xlarge': size(32, 128, 1),
  'g4dn.12xlarge': size(48, 192, 4),
  'g4dn.16xlarge': size(64, 256, 1),
  'g5.xlarge': size(4, 16, 1),
  'g5.2xlarge': size(8, 32, 1),
  'g5.4xlarge': size(16, 64, 1),
  'g5.8xlarge': size(32, 128, 1),
  'g5.12xlarge': size(48, 192, 4),
  'g5.16xlarge': size(64, 256, 1),
  'g5.24xlarge': size(96, 384, 4),
  'g5.48xlarge': size(192, 768, 8),
  'g6.xlarge': size(4, 16, 1),
  'g6.2xlarge': size(8, 32, 1),
  'g6.4xlarge': size(16, 64, 1),
  'g6.8xlarge': size(32, 128, 1),
  'g6.12xlarge': size(48, 192, 4),
  'g6.16xlarge': size(64, 256, 1),
  'g6.24xlarge': size(96, 384, 4),
  'g6.48xlarge': size(192, 768, 8),
};

/** What one sweep child asks Batch for: one GPU and that GPU's share of the instance. */
export interface JobResources {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly gpus: 1;
}

/**
 * The share of the installed memory a job may request. The ECS agent registers less than is
 * installed (the kernel, the NVIDIA driver, 32 MiB for the agent; an m4.large's 8 GiB registers
 * as 7,985 MiB), and a request above what registers leaves the job RUNNABLE for ever. AWS
 * recommends leaving 5%; 10% leaves room for the GPU driver as well.
 */
export const JOB_MEMORY_SHARE = 0.9;

/** One GPU's share of the instance, memory rounded down to 256 MiB. */
export function jobResources(instanceType: string): JobResources {
  const spec = SWEEP_INSTANCE_SIZES[instanceType];
  if (!spec) throw new Error(`no size known for ${instanceType}; known: ${Object.keys(SWEEP_INSTANCE_SIZES).join(', ')}`);
  const memoryMiB = Math.floor((spec.memoryGiB * 1024 * JOB_MEMORY_SHARE) / spec.gpus / 256) * 256;
  return { vcpus: Math.floor(spec.vcpus / spec.gpus), memoryMiB, gpus: 1 };
}
