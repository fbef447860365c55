import * as tf from '@tensorflow/tfjs';
import { KernelArgs, padOrCrop, releaseExcept } from './kernel-calls';
import { trainingKernels } from './training-kernels';

/**
 * dW[kh,kw,ci,co] = sum over b,oh,ow of x[b, oh*s+kh-pt, ow*s+kw-pl, ci] * dy[b,oh,ow,co], by our
 * SIMD kernel (simd/conv2d_filter_grad.c) on x padded as the forward pass padded it. The batch's
 * rows are split across the wasm threads, each summing into its own copy of dW, then added.
 */
export function conv2dBackpropFilter(args: KernelArgs<'x' | 'dy', tf.Conv2DBackpropFilterAttrs>): tf.TensorInfo {
  const { backend, inputs: { x, dy } } = args;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs;
  if (dataFormat === 'NCHW') throw new Error('wasm Conv2DBackpropFilter supports NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  const { strideHeight: sh, strideWidth: sw, filterHeight: kh, filterWidth: kw, outHeight: oh, outWidth: ow, batchSize } = info;
  const { top, left } = info.padInfo;
  // Zeros where the forward pass read outside x; rows/cols it never read are left as they are.
  const xp = padOrCrop(backend, x, [[0, 0], [top, Math.max(0, (oh - 1) * sh + kh - info.inHeight - top)],
    [left, Math.max(0, (ow - 1) * sw + kw - info.inWidth - left)], [0, 0]]);
  const [ci, co] = [info.inChannels, info.outChannels];
  const size = kh * kw * ci * co;
  const kernels = trainingKernels(backend);
  const parts = Math.min(kernels.threads, batchSize * oh);
  const acc = kernels.malloc(parts * size * 4);
  const dw = backend.makeOutput(filterShape, 'float32');
  try {
    kernels.run('conv2d_filter_grad', [
      kernels.pointer(xp), kernels.pointer(dy), acc, batchSize, xp.shape[1], xp.shape[2], ci, oh, ow, co, kh, kw, sh, sw,
    ], parts);
    kernels.run('add_parts', [acc, kernels.pointer(dw), size, parts]);
  } finally {
    kernels.free(acc);
    releaseExcept(backend, [x], xp);
  }
  return dw;
}

export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as tf.KernelFunc,
};
