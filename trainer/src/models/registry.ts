import tf from '@tensorflow/tfjs';
import { UserError } from '../user-error';
import { buildCnn } from './cnn';
import { buildCompact } from './compact';
import { buildMicro } from './micro';
import type { ModelOptions } from './model-options';
import { buildVgg16 } from './vgg16';

export type ModelBuilder = (opts: ModelOptions) => tf.LayersModel;

interface RegisteredModel {
  readonly build: ModelBuilder;
  readonly summary: string;
  /** Smallest input that survives all of the model's 2x2 pools (one pixel left after the last). */
  readonly minInputSize: number;
}

const cnn = (blocks: number): RegisteredModel => ({
  build: (opts) => buildCnn(blocks, opts),
  summary: `reference CNN: ${blocks} conv block${blocks > 1 ? 's' : ''}, 64..${64 * 2 ** (blocks - 1)} filters`,
  minInputSize: 2 ** blocks,
});

/** Every architecture `--model` accepts. Adding one is one builder and one line here. */
const MODELS: Readonly<Record<string, RegisteredModel>> = {
  'cnn-1': cnn(1),
  'cnn-2': cnn(2),
  'cnn-3': cnn(3),
  'cnn-4': cnn(4),
  vgg16: {
    build: buildVgg16,
    summary: 'VGG16 conv base (ImageNet weights: --weights)',
    minInputSize: 32,
  },
  compact: {
    build: buildCompact,
    summary: 'ours: depthwise-separable stages, batch norm',
    minInputSize: 16,
  },
  micro: {
    build: buildMicro,
    summary: 'ours, tiny: 4 narrow conv stages; quick CPU demos',
    minInputSize: 8,
  },
};

export const MODEL_NAMES: readonly string[] = Object.keys(MODELS);

/** Builds a fresh, uncompiled model; one sigmoid output, P(Parasitized). */
export function buildModel(name: string, opts: ModelOptions): tf.LayersModel {
  const entry = Object.hasOwn(MODELS, name) ? MODELS[name] : undefined;
  if (!entry) throw new UserError(`unknown model "${name}": use one of ${MODEL_NAMES.join(', ')} (see --list-models)`);
  if (opts.inputSize < entry.minInputSize) {
    throw new UserError(`model ${name} needs --image-size of at least ${entry.minInputSize}, got ${opts.inputSize}`);
  }
  return entry.build(opts);
}

export interface ModelListing {
  readonly name: string;
  /** Parameter count at the given input size; null when the model needs a larger input. */
  readonly params: number | null;
  readonly minInputSize: number;
  readonly summary: string;
}

/** What `--list-models` prints. Builds each model once to count its parameters, so it takes a second or two. */
export function listModels(inputSize: number): ModelListing[] {
  return Object.entries(MODELS).map(([name, { build, summary, minInputSize }]) => ({
    name,
    params: inputSize < minInputSize ? null : countParams(build, inputSize),
    minInputSize,
    summary,
  }));
}

function countParams(build: ModelBuilder, inputSize: number): number {
  const model = build({ inputSize, seed: 1 });
  const params = model.countParams();
  model.dispose();
  return params;
}
