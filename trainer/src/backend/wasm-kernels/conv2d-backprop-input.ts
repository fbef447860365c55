import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gradientConvInfo } from './filter-gradient';
import { convolve } from './conv2d';
import { call, cropForConv, KernelArgs, Margins, release, releaseExcept, reshape } from './kernel-calls';

/**
 * TF.js's wasm Conv2DBackpropInput is a scalar loop (5x slower than the whole forward pass). The
 * input gradient is a plain convolution: dy with zeros inserted between its pixels (stride > 1),
 * padded by kernel-1-pad, convolved with the filter rotated 180 degrees and its in/out channels
 * swapped, which our convolution kernel packs that way itself.
 */
export function conv2dBackpropInput(args: KernelArgs<'dy' | 'filter', tf.Conv2DBackpropInputAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, filter } } = args;
  const info = gradientConvInfo(args.attrs.inputShape, filter.shape, args.attrs, false);
  const spread = spreadForInputGradient(backend, dy, info);
  const [kh, kw, inChannels, outChannels] = filter.shape;
  const gradientInfo = tf.backend_util.computeConv2DInfo(
    spread.input.shape as [number, number, number, number], [kh, kw, outChannels, inChannels], 1, 1, spread.pad as tf.backend_util.ExplicitPadding);
  const dx = convolve(backend, spread.input, filter, gradientInfo, { rotated: true });
  releaseExcept(backend, [dy], spread.input);
  return dx;
}

/**
 * dy laid out on the input's grid for a stride-1 "full" correlation: zeros between pixels for
 * strides above 1, cropped where needed, and the zero padding (for the convolution to apply)
 * that makes a stride-1 convolution with the kernel yield exactly the input's height and width.
 * Shared by the depthwise input gradient.
 */
export function spreadForInputGradient(
  backend: BackendWasm, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo,
): { input: tf.TensorInfo; pad: Margins } {
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, inHeight, inWidth } = info;
  const [b, oh, ow, c] = dy.shape;
  let spread = dy;
  if (sh > 1 || sw > 1) {
    const split = reshape(backend, dy, [b, oh, 1, ow, 1, c]);
    const zeros = call(backend, tf.PadV2, { x: split }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]], constantValue: 0,
    });
    spread = reshape(backend, zeros, [b, oh * sh, ow * sw, c]);
    release(backend, split, zeros);
  }
  const top = kh - 1 - info.padInfo.top;
  const left = kw - 1 - info.padInfo.left;
  const placed = cropForConv(backend, spread, [
    [0, 0], [top, inHeight + kh - 1 - spread.shape[1] - top], [left, inWidth + kw - 1 - spread.shape[2] - left], [0, 0]]);
  if (spread !== dy && placed.input !== spread) release(backend, spread);
  return placed;
}

export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as tf.KernelFunc,
};
