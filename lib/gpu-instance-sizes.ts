import { GPU_INSTANCE_SPECS } from '../trainer/src/cloud/gpu-instances';

/**
 * The instance types a sweep may run on: the GPU types whose size is known (vCPUs, memory, GPUs)
 * and that the ECS GPU-optimized AMI and tfjs-node-gpu's CUDA 11 both support. Batch places a
 * job only where its vCPU, memory and GPU requests fit, so the job definition is sized from this.
 */
export const SWEEP_INSTANCE_SIZES = Object.fromEntries(Object.entries(GPU_INSTANCE_SPECS)
  .filter(([type]) => /^(g4dn|g5|g6)\./.test(type)));

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
