import tf from '@tensorflow/tfjs';
import { avgMaxHead, convBnRelu, imageInput, maxPool, separableBnRelu } from './blocks';
import { seededInitializers } from './initializers';
import type { ModelOptions } from './model-options';

/**
 * Our own model, 75,537 parameters (0.5% of vgg16), meant to match VGG16 on cell images.
 * - The signal is a few-pixel dark-purple inclusion, so the first two stages use full 3x3
 *   convolutions at full and half resolution, where colour and fine detail are still there.
 * - Deeper stages use depthwise-separable convolutions: about 8x fewer weights and multiply-adds
 *   than full ones at these widths, which buys depth (receptive field ~ the whole cell) cheaply.
 * - Batch norm after every conv for fast, learning-rate-tolerant training from scratch.
 * - Average + max pooling head (see avgMaxHead): no dense layer, so size-independent.
 */
export function buildCompact({ inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = convBnRelu(input, 16, init, 'stem_conv');
  x = maxPool(x, 'stem_pool');
  x = convBnRelu(x, 32, init, 'stage1_conv');
  x = maxPool(x, 'stage1_pool');
  x = separableBnRelu(x, 64, init, 'stage2_sep1');
  x = separableBnRelu(x, 64, init, 'stage2_sep2');
  x = maxPool(x, 'stage2_pool');
  x = separableBnRelu(x, 128, init, 'stage3_sep1');
  x = separableBnRelu(x, 128, init, 'stage3_sep2');
  x = maxPool(x, 'stage3_pool');
  x = separableBnRelu(x, 256, init, 'stage4_sep');
  return tf.model({ inputs: input, outputs: avgMaxHead(x, init, 0.3), name: 'compact' });
}
