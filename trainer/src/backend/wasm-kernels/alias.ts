import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';

/**
 * TF.js's engine clones every tensor a gradient needs (saveTensorsForBackwardMode), and the wasm
 * Identity kernel copies the data each time: a full copy of every saved activation per step.
 * Tensor data is never written in place, so, as in the cpu backend, a clone can share it.
 */
export function aliasIdentity(args: KernelArgs<'x', Record<string, never>>): tf.TensorInfo {
  const { backend, inputs: { x } } = args;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** A cast to the same type (ReLU's gradient casts a float mask to float) shares the data too. */
export function aliasSameTypeCast(original: tf.KernelFunc): (args: KernelArgs<'x', tf.CastAttrs>) => tf.TensorInfo {
  return (args) => {
    if (args.attrs.dtype === args.inputs.x.dtype && args.inputs.x.dtype !== 'string') return aliasIdentity({ ...args, attrs: {} });
    return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
  };
}

export const aliasIdentityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: aliasIdentity as unknown as tf.KernelFunc,
};
