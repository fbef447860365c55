import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { ConvolveOptions } from './conv2d';
import { TrainingKernels, trainingKernels } from './training-kernels';

/**
 * Winograd F(2x2, 3x3) (simd/winograd.c) takes stride-1 3x3 convolutions with at least this many
 * input and output channels: 2.25x fewer multiplies, but input and output transforms whose cost
 * grows with the channels, not their product. Measured on one thread (CPU time, relaxed SIMD):
 * 8 to 16 channels ran 15 to 70% slower than the direct kernels, 16 to 32 about as fast forward
 * and 20% slower for the filter gradient (its transforms cost more: input and output gradient per
 * tile), 24 to 48 and 32 to 32 channels 1.3 to 1.8x faster in all three passes.
 */
export const WINOGRAD_MIN_CHANNELS = { forward: 16, filterGradient: 24 } as const;

/**
 * Whether a convolution goes by Winograd: its forward pass and input gradient (a forward
 * convolution of dy) with `forward`, its filter gradient with `filterGradient`.
 */
export function winogradFits(info: tf.backend_util.Conv2DInfo, pass: keyof typeof WINOGRAD_MIN_CHANNELS): boolean {
  return info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1
    && info.dilationHeight === 1 && info.dilationWidth === 1
    && Math.min(info.inChannels, info.outChannels) >= WINOGRAD_MIN_CHANNELS[pass];
}

// A part's transformed inputs and products for a block of tiles: about this many bytes, to stay in cache.
const BLOCK_BYTES = 512 * 1024;

/**
 * From this many input and output channels, a forward pass or input gradient goes by F(4x4, 3x3)
 * where that takes fewer multiplies than F(2x2, 3x3) (on maps of 7x7 pixels and more). Measured
 * on one thread (CPU time, relaxed SIMD): 16 to 32 channels ran as fast either way, 24 to 48 1.45x faster forward and
 * 1.5 to 2x for the input gradient, 64 to 128 1.3 to 1.4x. Its transforms take more adds, and
 * their error grows with the points 2 and -2: about 3e-5 relative where products cancel, against
 * 1e-6 for F(2x2).
 */
export const WINOGRAD_4X4_MIN_CHANNELS = 24;

/** Output pixels down and across the Winograd tiles of a convolution that winogradFits' forward pass: 4 or 2. */
export function winogradTile(info: tf.backend_util.Conv2DInfo): 2 | 4 {
  const multiplies = (n: number) => Math.ceil(info.outHeight / n) * Math.ceil(info.outWidth / n) * (n + 2) ** 2;
  return Math.min(info.inChannels, info.outChannels) >= WINOGRAD_4X4_MIN_CHANNELS && multiplies(4) < multiplies(2) ? 4 : 2;
}

interface Plan {
  /** Channels as the kernels pad them: inputs to a multiple of 4, outputs to one of 8. */
  readonly ci4: number;
  readonly co8: number;
  /** Elements of the transforms: (n + 2)^2 for tiles of n x n output pixels. */
  readonly elements: number;
  /** Tiles per block, and parts (threads) the blocks are split across. */
  readonly block: number;
  readonly parts: number;
  /** Heap scratch space for all parts (see winograd_conv2d). */
  readonly scratch: number;
}

function plan(kernels: TrainingKernels, info: tf.backend_util.Conv2DInfo, n: 2 | 4): Plan {
  const ci4 = Math.ceil(info.inChannels / 4) * 4;
  const co8 = Math.ceil(info.outChannels / 8) * 8;
  const elements = (n + 2) ** 2;
  const tiles = info.batchSize * Math.ceil(info.outHeight / n) * Math.ceil(info.outWidth / n);
  const block = Math.max(4, Math.min(64, Math.floor(BLOCK_BYTES / (elements * (ci4 + co8) * 4) / 4) * 4));
  const parts = Math.min(kernels.threads, Math.ceil(tiles / block));
  return { ci4, co8, elements, block, parts, scratch: kernels.malloc(parts * (elements * block * (ci4 + co8) + ci4) * 4) };
}

/** y = conv(x, filter) (+ bias, ReLU) for a convolution that winogradFits, split by blocks of tiles across the wasm threads. */
export function winogradConvolve(
  backend: BackendWasm, x: tf.TensorInfo, filter: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, opts: ConvolveOptions,
): tf.TensorInfo {
  const kernels = trainingKernels(backend);
  const { inChannels: ci, outChannels: co } = info;
  const n = winogradTile(info);
  const { ci4, co8, elements, block, parts, scratch } = plan(kernels, info, n);
  const u = kernels.malloc(elements * ci4 * co8 * 4);
  const y = backend.makeOutput(info.outShape, 'float32');
  try {
    kernels.run('winograd_filter', [kernels.pointer(filter), u, ci, co, opts.rotated ? 1 : 0, n], Math.min(kernels.threads, ci4 / 4));
    kernels.run('winograd_conv2d', [
      kernels.pointer(x), u, opts.bias ? kernels.pointer(opts.bias) : 0, kernels.pointer(y), info.batchSize, info.inHeight, info.inWidth, ci,
      info.outHeight, info.outWidth, co, info.padInfo.top, info.padInfo.left, opts.relu ? 1 : 0, n, scratch, block,
    ], parts);
  } finally {
    kernels.free(u);
    kernels.free(scratch);
  }
  return y;
}

/** dW of a convolution that winogradFits, from its input x and output gradient dy: each part sums its blocks of tiles. */
export function winogradFilterGradient(backend: BackendWasm, x: tf.TensorInfo, dy: tf.TensorInfo, info: tf.backend_util.Conv2DInfo): tf.TensorInfo {
  const kernels = trainingKernels(backend);
  const { inChannels: ci, outChannels: co } = info;
  const { ci4, co8, elements, block, parts, scratch } = plan(kernels, info, 2);
  const size = elements * ci4 * co8;
  const acc = kernels.malloc((parts > 1 ? parts + 1 : 1) * size * 4);
  const dw = backend.makeOutput([3, 3, ci, co], 'float32');
  try {
    kernels.run('winograd_filter_grad', [
      kernels.pointer(x), kernels.pointer(dy), acc, info.batchSize, info.inHeight, info.inWidth, ci, info.outHeight, info.outWidth, co,
      info.padInfo.top, info.padInfo.left, scratch, block,
    ], parts);
    // The parts' sums side by side, then their total after them.
    const total = parts > 1 ? acc + parts * size * 4 : acc;
    if (parts > 1) kernels.run('add_parts', [acc, total, size, parts], kernels.threads);
    kernels.run('winograd_filter_grad_finish', [total, kernels.pointer(dw), ci, co], Math.min(kernels.threads, ci));
  } finally {
    kernels.free(acc);
    kernels.free(scratch);
  }
  return dw;
}
