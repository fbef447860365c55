import * as tf from '@tensorflow/tfjs';
import { spreadForInputGradient } from './conv2d-backprop-input';
import { filterGradient, gradientConvInfo } from './filter-gradient';
import { call, KernelArgs, release, releaseExcept, reshape } from './kernel-calls';

/**
 * dx: each channel's dy, spread on the input grid (see conv2d-backprop-input), correlated with its
 * own filter rotated 180 degrees; a depthwise convolution that XNNPACK runs. With a channel
 * multiplier m, the m outputs of a channel are summed.
 */
export function depthwiseBackpropInput(args: KernelArgs<'dy' | 'filter', tf.DepthwiseConv2dNativeBackpropInputAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, filter } } = args;
  const info = gradientConvInfo(args.attrs.inputShape, filter.shape, args.attrs, true);
  const [kh, kw, channels, multiplier] = filter.shape;
  const spread = spreadForInputGradient(backend, dy, info);
  const reversed = call(backend, tf.Reverse, { x: filter }, { dims: [0, 1] });
  const rotated = reshape(backend, reversed, [kh, kw, channels * multiplier, 1]);
  const perOutput = call(backend, tf.DepthwiseConv2dNative, { x: spread.input, filter: rotated }, {
    strides: 1, pad: spread.pad, dilations: 1,
  });
  let dx = perOutput;
  if (multiplier > 1) {
    const grouped = reshape(backend, perOutput, [...perOutput.shape.slice(0, 3), channels, multiplier]);
    dx = call(backend, tf.Sum, { x: grouped }, { axis: [4], keepDims: false });
    release(backend, grouped, perOutput);
  }
  releaseExcept(backend, [dy], spread.input, reversed, rotated);
  return dx;
}

/**
 * dF[kh,kw,c,q] = sum over b,oh,ow of x[b, oh*s+kh-pt, ow*s+kw-pl, c] * dy[b,oh,ow,c*m+q], by
 * simd/depthwise_filter_grad.c (TF.js's wasm backend has no depthwise gradients).
 */
export function depthwiseBackpropFilter(args: KernelArgs<'x' | 'dy', tf.DepthwiseConv2dNativeBackpropFilterAttrs>): tf.TensorInfo {
  return filterGradient('depthwise_filter_grad', args);
}

export const depthwiseBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as tf.KernelFunc,
};

export const depthwiseBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as tf.KernelFunc,
};
