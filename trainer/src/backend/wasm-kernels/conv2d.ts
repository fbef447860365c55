import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { KernelArgs } from './kernel-calls';
import { trainingKernels } from './training-kernels';
import { winogradConvolve, winogradFits } from './winograd';

type ConvInputs = 'x' | 'filter' | 'bias' | 'preluActivationWeights';
type ConvAttrs = tf.Conv2DAttrs & Partial<Pick<tf.FusedConv2DAttrs, 'activation'>>;

/**
 * Conv2D and FusedConv2D (bias and ReLU fused) by our SIMD kernel (simd/conv2d.c). Dilated
 * convolutions, NCHW and other fused activations go to TF.js's kernel.
 */
export function simdConv2d(original: tf.KernelFunc): (args: KernelArgs<ConvInputs, ConvAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs: { x, filter, bias, preluActivationWeights }, attrs } = args;
    const activation = attrs.activation ?? 'linear';
    const supported = attrs.dataFormat !== 'NCHW' && tf.backend_util.tupleValuesAreOne(attrs.dilations)
      && (activation === 'linear' || activation === 'relu') && preluActivationWeights == null
      && (bias == null || tf.util.sizeFromShape(bias.shape) === filter.shape[3]) && x.dtype === 'float32';
    if (!supported) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
      attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
    return convolve(backend, x, filter, info, { bias, relu: activation === 'relu' });
  };
}

export interface ConvolveOptions {
  readonly bias?: tf.TensorInfo;
  readonly relu?: boolean;
  /**
   * Convolve with the filter of the input gradient of a convolution by `filter`: rotated 180
   * degrees, its channel axes swapped. @default false
   */
  readonly rotated?: boolean;
}

/** y = conv(x, filter) (+ bias, ReLU) for the geometry `info`, split by output rows (or tiles) across the wasm threads. */
export function convolve(
  backend: BackendWasm, x: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, opts: ConvolveOptions = {},
): tf.TensorInfo {
  if (winogradFits(info, 'forward')) return winogradConvolve(backend, x, filter, info, opts);
  const kernels = trainingKernels(backend);
  const { inChannels: ci, outChannels: co, filterHeight: kh, filterWidth: kw } = info;
  const packed = kernels.malloc(Math.ceil(co / 8) * (8 + kh * kw * ci * 8) * 4);
  const y = backend.makeOutput(info.outShape, 'float32');
  try {
    kernels.run('pack_filter', [kernels.pointer(filter), opts.bias ? kernels.pointer(opts.bias) : 0, packed, kh, kw, ci, co, opts.rotated ? 1 : 0]);
    kernels.run('conv2d', [
      kernels.pointer(x), packed, kernels.pointer(y), info.batchSize, info.inHeight, info.inWidth, ci, info.outHeight, info.outWidth, co,
      kh, kw, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, opts.relu ? 1 : 0,
    ], Math.min(kernels.threads, info.batchSize * info.outHeight));
  } finally {
    kernels.free(packed);
  }
  return y;
}
