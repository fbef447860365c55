import * as tf from '@tensorflow/tfjs';
import { HeapSpan, HeapWorkers } from './heap-workers';
import { KernelArgs } from './kernel-calls';

/** Window geometry in plain numbers, so that helper threads can receive it. */
interface PoolGeometry {
  readonly inHeight: number;
  readonly inWidth: number;
  readonly channels: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly top: number;
  readonly left: number;
}

// Below this many input values a helper thread costs more than it saves.
const PARALLEL_MIN_VALUES = 1 << 18;

const helpers = new HeapWorkers(routeImages, [routeTwoByTwo, routeToFirstMax]);

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
  const geometry: PoolGeometry = {
    inHeight: info.inHeight, inWidth: info.inWidth, channels: info.inChannels, outHeight: info.outHeight, outWidth: info.outWidth,
    filterHeight: info.filterHeight, filterWidth: info.filterWidth, strideHeight: info.strideHeight, strideWidth: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left,
  };
  const dx = backend.makeOutput(input.shape, 'float32');
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  const out = backend.typedArrayFromHeap(dx) as Float32Array;
  // Images are independent: with a threaded heap, split the batch across the wasm threads.
  const parts = Math.min(info.batchSize, backend.wasm.tfjs.getThreadsCount());
  if (!(x.buffer instanceof SharedArrayBuffer) || parts < 2 || x.length < PARALLEL_MIN_VALUES) {
    routeImages(x, g, out, geometry, 0, info.batchSize);
    return dx;
  }
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * info.batchSize) / parts));
  const spans = [x, g, out].map((a): HeapSpan => [a.byteOffset, a.length]);
  const jobs = bounds.slice(0, -1).map((b0, i) => ({ spans, args: [geometry, b0, bounds[i + 1]] }));
  helpers.run(x.buffer, jobs, () => routeImages(x, g, out, geometry, 0, bounds[1]));
  return dx;
}

/** Routes the gradients of images [b0, b1) (zeroing their dx first). */
function routeImages(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry, b0: number, b1: number): void {
  const image = g.inHeight * g.inWidth * g.channels;
  dx.fill(0, b0 * image, b1 * image);
  if (g.filterHeight === 2 && g.filterWidth === 2 && g.strideHeight === 2 && g.strideWidth === 2 && g.top === 0 && g.left === 0) {
    routeTwoByTwo(x, dy, dx, g, b0, b1);
  } else {
    routeToFirstMax(x, dy, dx, g, b0, b1);
  }
}
/** The common 2x2, stride-2 pool: straight-line compares, in window order (top-left first). */
function routeTwoByTwo(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry, b0: number, b1: number): void {
  const { inHeight, inWidth, channels: c, outHeight, outWidth } = g;
  const row = inWidth * c;
  let grad = b0 * outHeight * outWidth * c;
  for (let b = b0; b < b1; b++) {
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

function routeToFirstMax(x: Float32Array, dy: Float32Array, dx: Float32Array, g: PoolGeometry, b0: number, b1: number): void {
  const { inHeight, inWidth, channels: c, outHeight, outWidth, strideHeight, strideWidth, filterHeight, filterWidth, top, left } = g;
  const best = new Float32Array(c);
  const where = new Int32Array(c);
  for (let b = b0; b < b1; b++) {
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
