import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';

/**
 * TF.js's wasm MaxPoolGrad rescans every window for every input pixel (a third of a training
 * step). Ours (simd/max_pool_grad.c) routes each output gradient to the first maximum of its
 * window, as TF.js's cpu kernel and TensorFlow do, in one pass over the windows, four channels at
 * a time, with the batch split across the wasm threads.
 */
export function maxPoolGrad(args: KernelArgs<'dy' | 'input' | 'output', tf.MaxPoolGradAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, input } } = args;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const dx = backend.makeOutput(input.shape, 'float32');
  const kernels = trainingKernels(backend);
  kernels.run('max_pool_grad', [
    kernels.pointer(input), kernels.pointer(dy), kernels.pointer(dx), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left,
  ], Math.min(kernels.threads, info.batchSize));
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
