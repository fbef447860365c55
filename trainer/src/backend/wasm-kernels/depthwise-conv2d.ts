import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';

/**
 * DepthwiseConv2dNative with channel multiplier 1 (every depthwise layer of our models, and the
 * input gradient of each, see depthwise-backprop) by our kernel (simd/depthwise_conv2d.c), split
 * across the wasm threads: TF.js's runs on one. Other multipliers, dilations and NCHW go to
 * TF.js's kernel.
 */
export function simdDepthwiseConv2d(original: tf.KernelFunc): (args: KernelArgs<'x' | 'filter', tf.DepthwiseConv2dNativeAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x, filter }, attrs } = args;
    const supported = filter.shape[3] === 1 && x.dtype === 'float32' && attrs.dataFormat !== 'NCHW'
      && (attrs.dilations == null || tf.backend_util.tupleValuesAreOne(attrs.dilations));
    if (!supported) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, true);
    const kernels = trainingKernels(backend);
    const y = backend.makeOutput(info.outShape, 'float32');
    kernels.run('depthwise_conv2d', [
      kernels.pointer(x), kernels.pointer(filter), kernels.pointer(y), info.batchSize, info.inHeight, info.inWidth, info.inChannels,
      info.outHeight, info.outWidth, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    ], Math.min(kernels.threads, info.batchSize * info.outHeight));
    return y;
  };
}
