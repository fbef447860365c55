import tf from '@tensorflow/tfjs';
import { avgMaxHead, convBnRelu, convRelu, imageInput, maxPool } from './blocks';
import { seededInitializers } from './initializers';
import type { ModelOptions } from './model-options';

/**
 * The demo model, 15,585 parameters: four narrow 3x3 conv stages (8, 16, 32, 32 filters, three
 * 2x2 pools) and the average + max pooling head. About 3.8M multiply-adds per 64 px image, a third
 * of the 171k-parameter CNN the backend was measured with.
 * - Batch norm from the second conv on: without it the model barely learns in the demo's 8 epochs
 *   (val accuracy ~0.5 after 4), with it on conv3-4 only ~0.94 after 6; with conv2-4, >= 0.92 by
 *   epoch 4 and 0.99 by 8 (synthetic, 64 px, 2 seeds).
 * - None on conv1: there it would normalise half of all activations, the costliest place for it
 *   (measured before the wasm batch-norm kernels: 4x slower with it).
 * - Full convolutions only: at these widths they cost little and run faster on CPU than separable ones.
 */
export function buildMicro({ inputSize, seed }: ModelOptions): tf.LayersModel {
  const init = seededInitializers(seed);
  const input = imageInput(inputSize);
  let x = convRelu(input, 8, init, 'conv1');
  x = maxPool(x, 'pool1');
  x = convBnRelu(x, 16, init, 'conv2');
  x = maxPool(x, 'pool2');
  x = convBnRelu(x, 32, init, 'conv3');
  x = maxPool(x, 'pool3');
  x = convBnRelu(x, 32, init, 'conv4');
  return tf.model({ inputs: input, outputs: avgMaxHead(x, init, 0), name: 'micro' });
}
