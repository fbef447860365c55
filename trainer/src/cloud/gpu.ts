import { execFile } from 'node:child_process';
import { UserError } from '../user-error';
import { instanceIdentity, type InstanceIdentity, type MetadataOptions } from './instance-metadata';

/** Runs a program and resolves with its standard output; rejects when it cannot run or fails. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<string>;

export const execRunner: CommandRunner = (command, args) =>
  new Promise((resolve, reject) => {
    execFile(command, [...args], { timeout: 15_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });

export interface GpuInfo {
  readonly name: string;
  readonly driver: string;
}

/** The GPUs nvidia-smi sees; an empty list when it is missing or fails (no GPU, or no `--gpus`). */
export async function gpuInfo(runner: CommandRunner = execRunner): Promise<GpuInfo[]> {
  let output: string;
  try {
    output = await runner('nvidia-smi', ['--query-gpu=name,driver_version', '--format=csv,noheader']);
  } catch {
    return [];
  }
  return parseGpuCsv(output);
}

export function parseGpuCsv(output: string): GpuInfo[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const cut = line.lastIndexOf(',');
      return { name: line.slice(0, cut).trim(), driver: line.slice(cut + 1).trim() };
    })
    .filter((gpu) => gpu.name && gpu.driver);
}

/** The active backend: its name (BackendInfo.name) and, for the native one, whether TensorFlow opened a GPU. */
export interface ActiveBackend {
  readonly name: string;
  readonly usesGpuDevice: boolean;
}

/** Reads `tf.backend()`: tfjs-node(-gpu)'s backend says whether TensorFlow found a GPU device. */
export function describeBackend(name: string, backend: unknown): ActiveBackend {
  return { name, usesGpuDevice: (backend as { isUsingGpuDevice?: unknown } | undefined)?.isUsingGpuDevice === true };
}

/**
 * `--require-gpu`: stops a cloud run before it trains on the CPU, which would cost some twenty
 * times the money. Returns the GPUs found.
 */
export async function requireGpu(backend: ActiveBackend, runner: CommandRunner = execRunner): Promise<GpuInfo[]> {
  const gpus = await gpuInfo(runner);
  if (gpus.length === 0) {
    throw new UserError(
      '--require-gpu: no NVIDIA GPU is visible (nvidia-smi is missing or failed). Run on a GPU instance, start the '
        + 'container with `docker run --gpus all`, or leave out --require-gpu to train on the CPU.',
    );
  }
  if (!backend.usesGpuDevice) {
    const found = gpus.map((g) => `${g.name} (driver ${g.driver})`).join(', ');
    const why = backend.name.startsWith('tensorflow')
      ? 'TensorFlow loaded but opened no GPU device: the CUDA 11 / cuDNN 8 libraries are missing or do not match the driver (see its log above)'
      : '@tensorflow/tfjs-node-gpu is not installed or failed to load (see the log above); use the trainer image or --backend tensorflow-gpu';
    throw new UserError(`--require-gpu: found ${found}, but the active backend is '${backend.name}' on the CPU. ${why}.`);
  }
  return gpus;
}

/** What a cloud run records about where it ran. */
export interface CloudTagSources {
  readonly backend: ActiveBackend;
  readonly gpus: readonly GpuInfo[];
  readonly instance?: InstanceIdentity;
  /** The trainer image's digest, which the boot script passes as TRAINER_IMAGE_DIGEST. */
  readonly imageDigest?: string;
}

export function cloudRunTags(sources: CloudTagSources): Record<string, string> {
  const first = sources.gpus[0];
  const tags: Record<string, string | undefined> = {
    backend: sources.backend.name,
    gpu_name: first && (sources.gpus.length > 1 ? `${sources.gpus.length} x ${first.name}` : first.name),
    gpu_driver: first?.driver,
    instance_type: sources.instance?.instanceType,
    instance_id: sources.instance?.instanceId,
    instance_lifecycle: sources.instance?.lifecycle,
    image_digest: sources.imageDigest,
  };
  return Object.fromEntries(Object.entries(tags).filter((entry): entry is [string, string] => Boolean(entry[1])));
}

/** Gathers the tags above: nvidia-smi, the metadata service and TRAINER_IMAGE_DIGEST. */
export async function collectCloudTags(
  backend: ActiveBackend,
  options: { runner?: CommandRunner; metadata?: MetadataOptions; env?: NodeJS.ProcessEnv } = {},
): Promise<Record<string, string>> {
  const env = options.env ?? process.env;
  const [gpus, instance] = await Promise.all([gpuInfo(options.runner), instanceIdentity({ env, ...options.metadata })]);
  return cloudRunTags({ backend, gpus, instance, imageDigest: env.TRAINER_IMAGE_DIGEST || undefined });
}
