import * as tf from '@tensorflow/tfjs';
import { KernelArgs } from './kernel-calls';

/**
 * TF.js's wasm MaxPoolGrad rescans every window for every input pixel (a third of a training
 * step). This routes each output gradient to the first maximum of its window, in the same order
 * as TF.js's cpu kernel and TensorFlow, in one pass over the windows with channels innermost.
 */
export function maxPoolGrad(args: KernelArgs<'dy' | 'input' | 'output', tf.MaxPoolGradAttrs>): tf.TensorInfo {
  const { backend, inputs: { dy, input } } = args;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const dx = backend.makeOutput(input.shape, 'float32');
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  out.fill(0);
  if (info.filterHeight === 2 && info.filterWidth === 2 && info.strideHeight === 2 && info.strideWidth === 2
    && info.padInfo.top === 0 && info.padInfo.left === 0) {
    routeTwoByTwo(x, g, out, info);
  } else {
    routeToFirstMax(x, g, out, info);
  }
  return dx;
}

/** The common 2x2, stride-2 pool: straight-line compares, in window order (top-left first). */
function routeTwoByTwo(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth } = info;
  const row = inWidth * c;
  let grad = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      const y = 2 * oy;
      const bottom = y + 1 < inHeight;
      for (let ox = 0; ox < outWidth; ox++) {
        const xx = 2 * ox;
        const right = xx + 1 < inWidth;
        const p00 = ((b * inHeight + y) * inWidth + xx) * c;
        for (let ch = 0; ch < c; ch++, grad++) {
          let at = p00 + ch;
          let best = x[at];
          if (right && x[at + c] > best) { at = p00 + ch + c; best = x[at]; }
          if (bottom) {
            const q = p00 + ch + row;
            if (x[q] > best) { at = q; best = x[q]; }
            if (right && x[q + c] > best) { at = q + c; best = x[at]; }
          }
          // A NaN or -Infinity top-left pixel that nothing beat: the cpu kernel routes nothing.
          if (best > -Infinity) dx[at] += dy[grad];
        }
      }
    }
  }
}

function routeToFirstMax(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { filterHeight, filterWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    const image = b * inHeight * inWidth * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const y0 = oy * strideHeight - top;
      const yStart = Math.max(0, y0);
      const yEnd = Math.min(inHeight, y0 + filterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const x0 = ox * strideWidth - left;
        const xStart = Math.max(0, x0);
        const xEnd = Math.min(inWidth, x0 + filterWidth);
        best.fill(-Infinity);
        where.fill(-1);
        for (let yy = yStart; yy < yEnd; yy++) {
          for (let xx = xStart; xx < xEnd; xx++) {
            const pixel = image + (yy * inWidth + xx) * c;
            for (let ch = 0; ch < c; ch++) {
              const v = x[pixel + ch];
              // Strictly greater keeps the first maximum (a window of only NaN/-Infinity routes
              // nothing, as in the cpu kernel).
              if (v > best[ch]) {
                best[ch] = v;
                where[ch] = pixel + ch;
              }
            }
          }
        }
        const grad = ((b * outHeight + oy) * outWidth + ox) * c;
        for (let ch = 0; ch < c; ch++) if (where[ch] >= 0) dx[where[ch]] += dy[grad + ch];
      }
    }
  }
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGrad as unknown as tf.KernelFunc,
};
