import * as tf from '@tensorflow/tfjs';
import { UserError } from '../user-error';

/** The native TensorFlow bindings: optional, installed in the container image, never here. */
export const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

export type NativeBackend = keyof typeof NATIVE_PACKAGES;

// A require the bundler leaves alone: these packages carry native code and are external.
const requireOptional = (id: string): unknown => require(id);

export function nativeInstalled(name: NativeBackend): boolean {
  try {
    require.resolve(NATIVE_PACKAGES[name]);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads tfjs-node(-gpu) and makes its `tensorflow` backend current; returns a one-line description
 * and a few words on where it runs.
 * The package registers into the engine that `@tensorflow/tfjs` uses: TF.js keeps its engine and
 * kernel registry on the global object, so this holds even for a second copy of tfjs-core, but
 * kernels and ops only agree when the versions match, which is checked here.
 */
export async function loadNativeTensorFlow(name: NativeBackend): Promise<{ detail: string; summary: string }> {
  const pkg = NATIVE_PACKAGES[name];
  if (!nativeInstalled(name)) {
    throw new UserError(`--backend ${name} needs ${pkg}, which is not installed. Install it with:\n`
      + `  npm install ${pkg}@${tf.version.tfjs}\n(it downloads libtensorflow, so it needs internet access)`);
  }
  const version = (requireOptional(`${pkg}/package.json`) as { version: string }).version;
  if (version !== tf.version.tfjs) {
    throw new UserError(`${pkg} ${version} does not match @tensorflow/tfjs ${tf.version.tfjs}: `
      + `install the same version with: npm install ${pkg}@${tf.version.tfjs}`);
  }
  // Without this TensorFlow reserves nearly all GPU memory at start.
  if (name === 'tensorflow-gpu') process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
  try {
    requireOptional(pkg);
  } catch (error) {
    throw new UserError(`${pkg} is installed but failed to load: ${(error as Error).message}`);
  }
  if (tf.findBackendFactory('tensorflow') == null || !(await tf.setBackend('tensorflow'))) {
    throw new UserError(`${pkg} loaded, but no 'tensorflow' backend is registered with @tensorflow/tfjs`);
  }
  if (name === 'tensorflow') return { detail: `native TensorFlow on the CPU (${name}, ${pkg} ${version})`, summary: 'CPU' };
  // tfjs-node-gpu runs on the CPU when TensorFlow finds no usable GPU; say which happened.
  const onGpu = (tf.backend() as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  return {
    detail: `native TensorFlow ${onGpu ? 'on the GPU with CUDA' : 'on the CPU: it found no GPU'} (${name}, ${pkg} ${version})`,
    summary: onGpu ? 'CUDA GPU' : 'no GPU found: CPU',
  };
}
