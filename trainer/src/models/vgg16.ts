import tf from '@tensorflow/tfjs';
import { UserError } from '../user-error';
import { convRelu, maxPool } from './blocks';
import type { SeededInitializers } from './initializers';

/** Filters of each VGG16 block; block b has convs `block{b}_conv1..n`, then `block{b}_pool`. */
const VGG16_BLOCKS: readonly (readonly number[])[] = [
  [64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512],
];

/** The 13 conv layers in order, with Keras' names and filter counts. */
export const VGG16_CONV_LAYERS: readonly { readonly name: string; readonly filters: number }[] = VGG16_BLOCKS.flatMap(
  (filters, b) => filters.map((f, c) => ({ name: `block${b + 1}_conv${c + 1}`, filters: f })),
);

/** Keras' VGG16 convolutional base, with Keras' layer names so that its h5 weights load by name. */
export function vgg16Base(input: tf.SymbolicTensor, init: SeededInitializers): tf.SymbolicTensor {
  let x = input;
  VGG16_BLOCKS.forEach((filters, b) => {
    filters.forEach((f, c) => {
      x = convRelu(x, f, init, `block${b + 1}_conv${c + 1}`);
    });
    x = maxPool(x, `block${b + 1}_pool`);
  });
  return x;
}

/**
 * Stops training of the convolutional base (`--freeze-base`), leaving the head trainable.
 * Takes effect at the next `model.compile`.
 */
export function freezeBase(model: tf.LayersModel): void {
  const names = new Set(VGG16_CONV_LAYERS.map((layer) => layer.name));
  const base = model.layers.filter((layer) => names.has(layer.name));
  if (base.length !== names.size) {
    throw new UserError(`--freeze-base needs a model with a pretrained base (vgg16); ${model.name} has none`);
  }
  for (const layer of base) layer.trainable = false;
}
