import * as tf from '@tensorflow/tfjs';
import { type TrainConfig } from '../config';
import { UserError } from '../user-error';
import { buildModel } from '../models/registry';
import { freezeBase } from '../models/vgg16';
import { loadVgg16Weights } from '../models/vgg16-weights';
import { resolveWeightsFile } from '../models/weights-source';
import { trainingLoss } from '../train/loss';

/** Builds `--model`, loads `--weights` and freezes the base when asked, and compiles it for training. */
export async function prepareModel(config: TrainConfig, log: (line: string) => void): Promise<tf.LayersModel> {
  const model = buildModel(config.model, { inputSize: config.imageSize, seed: config.seed });
  if (config.model === 'vgg16') {
    if (config.weights) {
      await loadVgg16Weights(model, await resolveWeightsFile(config.weights, { cacheDir: config.cacheDir }));
      log(`vgg16: ImageNet weights loaded from ${config.weights}`);
    } else {
      log('vgg16: no --weights given, so the base trains from scratch (give --weights imagenet for transfer learning)');
    }
  } else if (config.weights) {
    throw new UserError(`--weights loads a pretrained VGG16 base; model ${config.model} has none (use --model vgg16 or drop --weights)`);
  }
  if (config.freezeBase) {
    if (!config.weights) throw new UserError('--freeze-base freezes pretrained weights: give --weights too');
    freezeBase(model);
  }
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: trainingLoss(config.labelSmoothing), metrics: ['accuracy'] });
  return model;
}
