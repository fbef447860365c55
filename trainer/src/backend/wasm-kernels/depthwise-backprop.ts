import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { spreadForInputGradient } from './conv2d-backprop-input';
import { call, KernelArgs, padOrCrop, release, releaseExcept, reshape } from './kernel-calls';

type DepthwiseInfo = tf.backend_util.Conv2DInfo;

function depthwiseInfo(
  inputShape: number[], filterShape: number[], attrs: tf.DepthwiseConv2dNativeBackpropInputAttrs | tf.DepthwiseConv2dNativeBackpropFilterAttrs,
): DepthwiseInfo {
  if (!tf.backend_util.tupleValuesAreOne(attrs.dilations)) {
    throw new Error('wasm depthwise convolution gradients support dilation 1 only (as TF.js does)');
  }
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
}

/**
 * dx: each channel's dy, spread on the input grid (see conv2d-backprop-input), correlated with its
 * own filter rotated 180 degrees; a depthwise convolution that XNNPACK runs. With a channel
 * multiplier m, the m outputs of a channel are summed.
 */
export function depthwiseBackpropInput(args: KernelArgs<'dy' | 'filter', tf.DepthwiseConv2dNativeBackpropInputAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, filter } } = args;
  const info = depthwiseInfo(args.attrs.inputShape, filter.shape, args.attrs);
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
 * dF[kh,kw,c,q] = sum over b,oh,ow of x[b, oh*s+kh-pt, ow*s+kw-pl, c] * dy[b,oh,ow,c*m+q]: per
 * filter tap, the input pixels that tap saw times dy, summed over all but the channels.
 */
export function depthwiseBackpropFilter(args: KernelArgs<'x' | 'dy', tf.DepthwiseConv2dNativeBackpropFilterAttrs>): tf.TensorInfo {
  const { backend, inputs: { x, dy } } = args;
  const { filterShape } = args.attrs;
  const info = depthwiseInfo(x.shape, filterShape, args.attrs);
  const [kh, kw, channels, multiplier] = filterShape;
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, batchSize } = info;
  const needH = (oh - 1) * sh + kh;
  const needW = (ow - 1) * sw + kw;
  const xc = padOrCrop(backend, x, [
    [0, 0], [info.padInfo.top, needH - info.inHeight - info.padInfo.top],
    [info.padInfo.left, needW - info.inWidth - info.padInfo.left], [0, 0]]);
  const rows = batchSize * oh * ow;
  const dyRows = reshape(backend, dy, [rows, channels, multiplier]);
  const out = backend.makeOutput(filterShape, 'float32');
  const perTap = channels * multiplier;
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const seen = tapView(backend, xc, i, j, info);
      const seenRows = reshape(backend, seen, [rows, channels, 1]);
      const product = call(backend, tf.Multiply, { a: seenRows, b: dyRows });
      const flat = reshape(backend, product, [rows, perTap]);
      const sum = call(backend, tf.Sum, { x: flat }, { axis: [0], keepDims: false });
      // Views after the allocations above: they may have grown the heap.
      backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(sum), (i * kw + j) * perTap);
      release(backend, seen, seenRows, product, flat, sum);
    }
  }
  releaseExcept(backend, [x], xc, dyRows);
  return out;
}

/** The input pixels filter tap (i, j) meets, as [batch, outHeight, outWidth, channels]. */
function tapView(backend: BackendWasm, xc: tf.TensorInfo, i: number, j: number, info: DepthwiseInfo): tf.TensorInfo {
  const { strideHeight: sh, strideWidth: sw, outHeight: oh, outWidth: ow, batchSize, inChannels } = info;
  if (sh === 1 && sw === 1) {
    return call(backend, tf.Slice, { x: xc }, { begin: [0, i, j, 0], size: [batchSize, oh, ow, inChannels] });
  }
  return call(backend, tf.StridedSlice, { x: xc }, {
    begin: [0, i, j, 0], end: [batchSize, i + (oh - 1) * sh + 1, j + (ow - 1) * sw + 1, inChannels],
    strides: [1, sh, sw, 1], beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
  });
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
