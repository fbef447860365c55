import * as tf from '@tensorflow/tfjs';
import { filterGradient } from './filter-gradient';
import { KernelArgs } from './kernel-calls';

/**
 * dW[kh,kw,ci,co] = sum over b,oh,ow of x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co], by
 * simd/conv2d_filter_grad.c: no transposes, and no per-step tensor packed as XNNPACK weights
 * (the route through XNNPACK's convolution spent more time packing than computing).
 */
export function conv2dBackpropFilter(args: KernelArgs<'x' | 'dy', tf.Conv2DBackpropFilterAttrs>): tf.TensorInfo {
  return filterGradient('conv2d_filter_grad', args);
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
