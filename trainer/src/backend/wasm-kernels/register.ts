import * as tf from '@tensorflow/tfjs';
import { aliasIdentityConfig, aliasSameTypeCast } from './alias';
import { xnnpackMatMul } from './batch-mat-mul';
import { broadcastByTile } from './broadcast-by-tile';
import { channelBatchNorm, channelReduction, perChannelBinary } from './channel-ops';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { simdConv2d } from './conv2d';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwise-backprop';
import { simdDepthwiseConv2d } from './depthwise-conv2d';
import { maxPoolGradConfig } from './max-pool-grad';
import { zeroCopySlice } from './slice';
import { copyTile } from './tile';
import { registerTrainingGradients, trainingGradientKernels } from './training-gradients';
import { installTrainingOps, trainingOpKernels } from './training-ops';

type Wrapper = (original: tf.KernelFunc) => (args: never) => tf.TensorInfo;

/** Kernels wasm lacks, or has only as scalar loops or needless copies: replaced outright. */
const REPLACEMENTS: tf.KernelConfig[] = [
  aliasIdentityConfig,
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  ...trainingGradientKernels,
  ...trainingOpKernels,
];

/** Kernels kept, with a faster route for some inputs. */
const WRAPPED: Array<[string, Wrapper]> = [
  [tf.BatchMatMul, xnnpackMatMul as Wrapper],
  [tf.Conv2D, simdConv2d as Wrapper],
  [tf.FusedConv2D, simdConv2d as Wrapper],
  [tf.DepthwiseConv2dNative, simdDepthwiseConv2d as Wrapper],
  [tf.Cast, aliasSameTypeCast as Wrapper],
  [tf.Slice, zeroCopySlice as Wrapper],
  [tf.Sum, channelReduction('sum') as Wrapper],
  [tf.Mean, channelReduction('mean') as Wrapper],
  [tf.Max, channelReduction('max') as Wrapper],
  [tf.Add, perChannelBinary('add') as Wrapper],
  [tf.Sub, perChannelBinary('sub') as Wrapper],
  [tf.Multiply, perChannelBinary('mul') as Wrapper],
  [tf.Tile, copyTile as Wrapper],
  [tf.FusedBatchNorm, channelBatchNorm as Wrapper],
  ...[
    tf.Equal, tf.NotEqual, tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual,
    tf.LogicalAnd, tf.LogicalOr, tf.LogicalXor, tf.Maximum, tf.Minimum, tf.Pow, tf.FloorDiv,
  ].map((name): [string, Wrapper] => [name, broadcastByTile as Wrapper]),
];

const ours = new WeakSet<tf.KernelFunc>();

/**
 * Makes the wasm backend able to train, fast: registers the gradient kernels it lacks and
 * replaces the slow ones. Idempotent; call before the wasm backend is initialised, so that
 * every kernel's setup runs.
 */
export function registerWasmTrainingKernels(): void {
  registerTrainingGradients();
  installTrainingOps();
  for (const config of REPLACEMENTS) install(config);
  for (const [name, wrap] of WRAPPED) {
    const current = tf.getKernel(name, 'wasm');
    if (!current) throw new Error(`wasm kernel ${name} is missing: is @tensorflow/tfjs-backend-wasm loaded?`);
    if (ours.has(current.kernelFunc)) continue;
    install({ ...current, kernelFunc: wrap(current.kernelFunc) as unknown as tf.KernelFunc });
  }
}

function install(config: tf.KernelConfig): void {
  const current = tf.getKernel(config.kernelName, 'wasm');
  if (current && (current.kernelFunc === config.kernelFunc || ours.has(current.kernelFunc))) return;
  if (current) tf.unregisterKernel(config.kernelName, 'wasm');
  tf.registerKernel(config);
  ours.add(config.kernelFunc);
}
