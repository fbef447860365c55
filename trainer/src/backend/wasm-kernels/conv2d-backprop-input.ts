import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { gradientConvInfo } from './filter-gradient';
import { call, cropForConv, KernelArgs, Margins, release, releaseExcept, reshape, transpose } from './kernel-calls';

/**
 * TF.js's wasm Conv2DBackpropInput is a scalar loop (5x slower than the whole forward pass). The
 * input gradient is a plain convolution, which XNNPACK runs fast: dy with zeros inserted between
 * its pixels (stride > 1), padded by kernel-1-pad, convolved with the filter rotated 180 degrees
 * and its in/out channels swapped.
 */
export function conv2dBackpropInput(args: KernelArgs<'dy' | 'filter', tf.Conv2DBackpropInputAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, filter } } = args;
  const info = gradientConvInfo(args.attrs.inputShape, filter.shape, args.attrs, false);
  const spread = spreadForInputGradient(backend, dy, info);
  const reversed = call(backend, tf.Reverse, { x: filter }, { dims: [0, 1] });
  const rotated = transpose(backend, reversed, [0, 1, 3, 2]);
  const dx = call(backend, tf.Conv2D, { x: spread.input, filter: rotated }, {
    strides: 1, pad: spread.pad, dataFormat: 'NHWC', dilations: 1,
  });
  releaseExcept(backend, [dy], spread.input, reversed, rotated);
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
