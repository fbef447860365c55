import tf from '@tensorflow/tfjs';
import { UserError } from '../user-error';
import { buildCompact } from './compact';
import { buildMicro } from './micro';
import type { ModelOptions } from './model-options';
import { buildOriginalCnn, buildOriginalVgg16 } from './original-study';
import { buildPooledCnn } from './pooled-cnn';

export type ModelBuilder = (opts: ModelOptions) => tf.LayersModel;

/** Where an architecture comes from: the original study's `define_network`, or this project. */
export type ModelOrigin = 'study' | 'ours';

interface RegisteredModel {
  readonly build: ModelBuilder;
  readonly summary: string;
  readonly origin: ModelOrigin;
  /** Smallest input that survives all of the model's 2x2 pools (one pixel left after the last). */
  readonly minInputSize: number;
}

const originalCnn = (blocks: number): RegisteredModel => ({
  build: (opts) => buildOriginalCnn(blocks, opts),
  summary: `${blocks} block${blocks > 1 ? 's' : ''} (${blocks > 1 ? `64-${64 * 2 ** (blocks - 1)}` : '64'}), per-position dense, flatten`,
  origin: 'study',
  minInputSize: 2 ** blocks,
});

const pooledCnn = (blocks: number): RegisteredModel => ({
  build: (opts) => buildPooledCnn(blocks, opts),
  summary: `cnn-${blocks}'s blocks, global avg pool, dense head`,
  origin: 'ours',
  minInputSize: 2 ** blocks,
});

/**
 * Every architecture `--model` accepts. Adding one is one builder and one line here. `cnn-1..4`
 * and `vgg16` are the original study's networks under the names its runs used (its `convolutions`
 * parameter: 1..4, and 0 for VGG16).
 */
const MODELS: Readonly<Record<string, RegisteredModel>> = {
  'cnn-1': originalCnn(1),
  'cnn-2': originalCnn(2),
  'cnn-3': originalCnn(3),
  'cnn-4': originalCnn(4),
  vgg16: {
    build: buildOriginalVgg16,
    summary: 'VGG16 base + 2 per-position dense, flatten',
    origin: 'study',
    minInputSize: 32,
  },
  'cnn-1-gap': pooledCnn(1),
  'cnn-2-gap': pooledCnn(2),
  'cnn-3-gap': pooledCnn(3),
  'cnn-4-gap': pooledCnn(4),
  compact: {
    build: buildCompact,
    summary: 'depthwise-separable, batch norm, avg+max pool',
    origin: 'ours',
    minInputSize: 16,
  },
  micro: {
    build: buildMicro,
    summary: 'tiny: 4 narrow conv stages; quick CPU demos',
    origin: 'ours',
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
  readonly origin: ModelOrigin;
}

/** What `--list-models` prints. Builds each model once to count its parameters, so it takes a second or two. */
export function listModels(inputSize: number): ModelListing[] {
  return Object.entries(MODELS).map(([name, { build, summary, origin, minInputSize }]) => ({
    name,
    params: inputSize < minInputSize ? null : countParams(build, inputSize),
    minInputSize,
    summary,
    origin,
  }));
}

function countParams(build: ModelBuilder, inputSize: number): number {
  const model = build({ inputSize, seed: 1 });
  const params = model.countParams();
  model.dispose();
  return params;
}
