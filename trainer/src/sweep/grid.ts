import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { camel, kebab, parseTrainConfig, type TrainConfig } from '../config';
import { UserError } from '../user-error';

/**
 * A sweep: options every cell shares, axes (one option each, with the values it takes; the cells
 * are their cross product) and, optionally, explicit cells (each a set of options) crossed with
 * the axes. Keys are training options, in camelCase or spelled as flags.
 */
export interface SweepGrid {
  readonly fixed?: Readonly<Record<string, unknown>>;
  readonly axes?: Readonly<Record<string, readonly unknown[]>>;
  readonly cells?: readonly Readonly<Record<string, unknown>>[];
}

/** One training of a sweep. */
export interface SweepCell {
  /** 0-based: the array index of the Batch child that trains it. */
  readonly index: number;
  /** What sets it apart, e.g. `cnn-1 seed=2`. */
  readonly name: string;
  /** The options that vary across the sweep, as they appear in `name`. */
  readonly varied: Readonly<Record<string, string>>;
  /** The cell's options as given (defaults left to the trainer). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly config: TrainConfig;
}

/** A sweep this big is almost certainly a typo (Batch allows 10,000 children). */
export const MAX_CELLS = 500;

/**
 * The comparisons a team runs again and again. `seed`: the five-run comparison of the study this
 * project grew from (py_tf2_gpu_dock_mlflow's train.py and project_driver.bash), with its settings:
 * VGG16 with ImageNet weights and the four CNNs as it defined them, 100 px, batch 128, 10 epochs,
 * Adam at a constant 1e-3, RandomFlip (horizontal and vertical flips, no brightness change), no
 * test-time augmentation, every epoch run.
 */
export const PRESETS: Readonly<Record<string, SweepGrid>> = {
  seed: {
    fixed: {
      imageSize: 100, batchSize: 128, epochs: 10, learningRate: 0.001, lrSchedule: 'constant', patience: 0,
      augment: true, augmentSymmetries: 'flips', augmentBrightness: 0, tta: false,
    },
    cells: [
      { model: 'vgg16', weights: 'imagenet' },
      { model: 'cnn-1' },
      { model: 'cnn-2' },
      { model: 'cnn-3' },
      { model: 'cnn-4' },
    ],
  },
};

/**
 * Every cell of the grid, each validated by the trainer's own option schema before anything runs;
 * all problems are reported at once, each naming its cell.
 */
export function expandGrid(grid: SweepGrid): SweepCell[] {
  const fixed = camelKeys(grid.fixed ?? {});
  const axes = Object.entries(camelKeys(grid.axes ?? {})) as [string, readonly unknown[]][];
  for (const [key, values] of axes) {
    if (!Array.isArray(values) || values.length === 0) throw new UserError(`sweep axis --${kebab(key)}: give at least one value`);
  }
  let combos: Record<string, unknown>[] = (grid.cells?.length ? grid.cells : [{}]).map(camelKeys);
  for (const [key, values] of axes) combos = combos.flatMap((combo) => values.map((value) => ({ ...combo, [key]: value })));
  combos = combos.flatMap((combo) => foldsOf({ ...fixed, ...combo }).map((cvFold) => (cvFold ? { ...combo, cvFold } : combo)));
  if (combos.length > MAX_CELLS) throw new UserError(`the sweep has ${combos.length} cells; at most ${MAX_CELLS} are allowed (narrow an axis)`);

  const variedKeys = keysThatVary(combos);
  const problems: string[] = [];
  const cells: SweepCell[] = [];
  combos.forEach((combo, index) => {
    const options = { ...fixed, ...combo };
    const varied = Object.fromEntries(variedKeys.filter((key) => key in options).map((key) => [key, show(options[key])]));
    const name = cellName(varied) || `cell ${index + 1}`;
    try {
      cells.push({ index, name, varied, options, config: parseTrainConfig(options) });
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      problems.push(`cell ${index + 1} (${name}): ${error.message.replace(/^invalid options:\n/, '').trim()}`);
    }
  });
  if (problems.length) throw new UserError(`the sweep has invalid cells:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return cells;
}

const GridFileSchema = z.object({
  fixed: z.record(z.string(), z.unknown()).optional(),
  axes: z.record(z.string(), z.array(z.unknown()).min(1)).optional(),
  cells: z.array(z.record(z.string(), z.unknown())).optional(),
}).strict();

/** A `--grid sweep.json` file: `{"fixed": {...}, "axes": {"model": [...]}, "cells": [{...}]}`. */
export function readGridFile(file: string): SweepGrid {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new UserError(`--grid ${file}: cannot read it (${reason})`);
  }
  const parsed = GridFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new UserError(`--grid ${file}: expected {"fixed": {options}, "axes": {"option": [values]}, "cells": [{options}]} `
      + `(${parsed.error.issues.map((i) => `${i.path.join('.') || 'top level'}: ${i.message}`).join('; ')})`);
  }
  return parsed.data;
}

/** Axes of `b` added to `a`'s, `b`'s fixed options winning; cells from whichever has them (b first). */
export function mergeGrids(a: SweepGrid, b: SweepGrid): SweepGrid {
  return {
    fixed: { ...camelKeys(a.fixed ?? {}), ...camelKeys(b.fixed ?? {}) },
    axes: { ...camelKeys(a.axes ?? {}), ...camelKeys(b.axes ?? {}) },
    cells: b.cells?.length ? b.cells : a.cells,
  };
}

/**
 * `--cv K` in a sweep: each fold is a cell of its own, so that folds train side by side; a cell that
 * names its fold already is kept as it is.
 */
function foldsOf(options: Record<string, unknown>): (number | undefined)[] {
  const folds = options.cv;
  if (typeof folds !== 'number' || !Number.isInteger(folds) || folds < 2 || folds > 20 || options.cvFold !== undefined) return [undefined];
  return Array.from({ length: folds }, (_, i) => i + 1);
}

function keysThatVary(combos: readonly Record<string, unknown>[]): string[] {
  const keys = [...new Set(combos.flatMap((combo) => Object.keys(combo)))];
  return keys.filter((key) => new Set(combos.map((combo) => show(combo[key]))).size > 1);
}

/** `{model: 'cnn-1', seed: '2'}` -> `cnn-1 seed=2`: the model by itself, other options as key=value. */
function cellName(varied: Readonly<Record<string, string>>): string {
  return Object.entries(varied).map(([key, value]) => (key === 'model' ? value : `${kebab(key)}=${value}`)).join(' ');
}

function show(value: unknown): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

function camelKeys<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [camel(key), value]));
}
