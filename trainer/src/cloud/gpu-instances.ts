/**
 * vCPUs, memory and NVIDIA GPUs of the GPU instance types this project prices and sizes, from the
 * EC2 instance type pages (aws.amazon.com/ec2/instance-types/g4/, /g5/, /g6/, /p3/). Kept in the
 * trainer, which prices its own runs from it; the CDK app sizes sweep jobs from it too.
 */
export interface GpuInstanceSpec {
  readonly vcpus: number;
  readonly memoryGiB: number;
  readonly gpus: number;
}

const spec = (vcpus: number, memoryGiB: number, gpus: number): GpuInstanceSpec => ({ vcpus, memoryGiB, gpus });

export const GPU_INSTANCE_SPECS: Readonly<Record<string, GpuInstanceSpec>> = {
  'g4dn.xlarge': spec(4, 16, 1),
  'g4dn.2xlarge': spec(8, 32, 1),
  'g4dn.4xlarge': spec(16, 64, 1),
  'g4dn.8xlarge': spec(32, 128, 1),
  'g4dn.12xlarge': spec(48, 192, 4),
  'g4dn.16xlarge': spec(64, 256, 1),
  'g5.xlarge': spec(4, 16, 1),
  'g5.2xlarge': spec(8, 32, 1),
  'g5.4xlarge': spec(16, 64, 1),
  'g5.8xlarge': spec(32, 128, 1),
  'g5.12xlarge': spec(48, 192, 4),
  'g5.16xlarge': spec(64, 256, 1),
  'g5.24xlarge': spec(96, 384, 4),
  'g5.48xlarge': spec(192, 768, 8),
  'g6.xlarge': spec(4, 16, 1),
  'g6.2xlarge': spec(8, 32, 1),
  'g6.4xlarge': spec(16, 64, 1),
  'g6.8xlarge': spec(32, 128, 1),
  'g6.12xlarge': spec(48, 192, 4),
  'g6.16xlarge': spec(64, 256, 1),
  'g6.24xlarge': spec(96, 384, 4),
  'g6.48xlarge': spec(192, 768, 8),
  'p3.2xlarge': spec(8, 61, 1),
  'p3.8xlarge': spec(32, 244, 4),
  'p3.16xlarge': spec(64, 488, 8),
};
