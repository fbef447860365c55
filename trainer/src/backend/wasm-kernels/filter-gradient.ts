import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelArgs, padOrCrop, releaseExcept } from './kernel-calls';
import { KernelName, trainingKernels } from './training-kernels';
import { winogradFilterGradient, winogradFits } from './winograd';

type FilterGradAttrs = tf.Conv2DBackpropFilterAttrs | tf.DepthwiseConv2dNativeBackpropFilterAttrs;
type ConvAttrs = FilterGradAttrs | tf.Conv2DBackpropInputAttrs | tf.DepthwiseConv2dNativeBackpropInputAttrs;

/** A convolution gradient's geometry: NHWC, dilation 1 (TF.js computes no gradients of dilated convolutions). */
export function gradientConvInfo(inputShape: number[], filterShape: number[], attrs: ConvAttrs, depthwise: boolean): tf.backend_util.Conv2DInfo {
  if ('dataFormat' in attrs && attrs.dataFormat === 'NCHW') throw new Error('wasm convolution gradients support NHWC only');
  if ('dilations' in attrs && !tf.backend_util.tupleValuesAreOne(attrs.dilations)) {
    throw new Error('wasm convolution gradients support dilation 1 only (as TF.js does)');
  }
  return tf.backend_util.computeConv2DInfo(
    inputShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, depthwise);
}

/**
 * The filter gradient of a convolution (`depthwise` or not) by our SIMD kernel on x padded as the
 * forward pass padded it: the batch's output rows are split across the wasm threads, each summing
 * into its own copy of the gradient, and the copies are added.
 */
export function filterGradient(
  kernel: Extract<KernelName, 'conv2d_filter_grad' | 'depthwise_filter_grad'>,
  args: KernelArgs<'x' | 'dy', FilterGradAttrs>,
): tf.TensorInfo {
  const { backend, inputs: { x, dy } } = args;
  const { filterShape } = args.attrs;
  const depthwise = kernel === 'depthwise_filter_grad';
  const info = gradientConvInfo(x.shape, filterShape, args.attrs, depthwise);
  if (!depthwise && winogradFits(info, 'filterGradient')) return winogradFilterGradient(backend, x, dy, info);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, batchSize } = info;
  const xp = padded(backend, x, info);
  const size = tf.util.sizeFromShape(filterShape);
  const kernels = trainingKernels(backend);
  const parts = Math.min(kernels.threads, batchSize * oh);
  const acc = kernels.malloc(parts * size * 4);
  const out = backend.makeOutput(filterShape, 'float32');
  const channels = depthwise ? [info.inChannels, filterShape[3]] : [info.inChannels, oh, ow, info.outChannels];
  try {
    kernels.run(kernel, [
      kernels.pointer(xp), kernels.pointer(dy), acc, batchSize, xp.shape[1], xp.shape[2],
      ...(depthwise ? [channels[0], channels[1], oh, ow] : channels), kh, kw, sh, sw,
    ], parts);
    kernels.run('add_parts', [acc, kernels.pointer(out), size, parts]);
  } finally {
    kernels.free(acc);
    releaseExcept(backend, [x], xp);
  }
  return out;
}

/** x with zeros where the forward pass read outside it (rows and columns it never read are kept). */
function padded(backend: BackendWasm, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const { top, left } = info.padInfo;
  const bottom = Math.max(0, (info.outHeight - 1) * info.strideHeight + info.filterHeight - info.inHeight - top);
  const right = Math.max(0, (info.outWidth - 1) * info.strideWidth + info.filterWidth - info.inWidth - left);
  return padOrCrop(backend, x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
}
