import { type Command, Option } from 'commander';
import { camel, kebab, TrainConfigSchema } from '../config';
import { addSchemaOptions, typedOptions } from '../cli/schema-options';
import { UserError } from '../user-error';
import { mergeGrids, PRESETS, readGridFile, type SweepGrid } from './grid';

/** Axis flags: a comma-separated list, one cell per value. */
const AXIS_FLAGS = { models: 'model', seeds: 'seed' } as const;

/**
 * The flags that describe a sweep, shared by the local and the cloud sweep: `--preset`, `--grid
 * file.json`, the axes `--models a,b` and `--seeds 1,2,3`, and every training option (the same
 * value for every cell).
 */
export function addGridOptions(command: Command): Command {
  command
    .addOption(new Option('--preset <name>', 'a comparison kept in the code (seed: the five models of the original study)').choices(Object.keys(PRESETS)))
    .option('--grid <file.json>', 'the grid as JSON: {"fixed": {options}, "axes": {"option": [values]}, "cells": [{options}]}')
    .option('--models <a,b,...>', 'one cell per model (an axis)')
    .option('--seeds <1,2,...>', 'one cell per seed (an axis)');
  return addSchemaOptions(command, TrainConfigSchema);
}

/**
 * The grid the flags describe: the preset, then the grid file, then the flags. A training option
 * given as a flag that the grid already sets cell by cell is refused rather than silently lost.
 */
export function gridFromOptions(command: Command): SweepGrid {
  const opts = command.opts<{ preset?: string; grid?: string; models?: string; seeds?: string }>();
  const fixed = typedOptions(command, TrainConfigSchema);
  const axes: Record<string, unknown[]> = {};
  if (opts.models !== undefined) axes.model = list('--models', opts.models);
  if (opts.seeds !== undefined) {
    axes.seed = list('--seeds', opts.seeds).map((raw) => {
      const seed = Number(raw);
      if (!Number.isInteger(seed) || seed < 0) throw new UserError(`--seeds: '${raw}' is not a whole number of 0 or more`);
      return seed;
    });
  }
  const doubled = Object.entries(AXIS_FLAGS).filter(([, key]) => key in axes && key in fixed);
  if (doubled.length) {
    throw new UserError(doubled.map(([flag, key]) => `give --${flag} or --${kebab(key)}, not both`).join('; '));
  }

  const source = [opts.preset && `--preset ${opts.preset}`, opts.grid && `--grid ${opts.grid}`].filter(Boolean).join(' and ');
  const base = pickModels(mergeGrids(opts.preset ? PRESETS[opts.preset] : {}, opts.grid ? readGridFile(opts.grid) : {}), axes, source);
  const perCell = new Set([...Object.keys(base.axes ?? {}), ...(base.cells ?? []).flatMap((cell) => Object.keys(cell).map(camel))]);
  const clashes = Object.keys(fixed).filter((key) => perCell.has(key));
  if (clashes.length) {
    throw new UserError(clashes.map((key) => `--${kebab(key)}: ${source} sets it cell by cell; leave it out, or change the grid`).join('\n'));
  }
  const grid = mergeGrids(base, { fixed, axes });
  if (!grid.cells?.length && !Object.keys(grid.axes ?? {}).length && !opts.preset && !opts.grid) {
    throw new UserError('a sweep needs cells: give --models, --seeds, --grid <file.json> or --preset seed');
  }
  return grid;
}

/**
 * `--models a,b` over a grid whose cells name their models (`--preset seed`): the cells of those
 * models, with their own settings (vgg16 keeps its ImageNet weights), rather than every cell once
 * per model. Takes `model` out of `axes`.
 */
function pickModels(grid: SweepGrid, axes: Record<string, unknown[]>, source: string): SweepGrid {
  const cells = grid.cells ?? [];
  if (!axes.model || !cells.some((cell) => 'model' in cell)) return grid;
  const wanted = axes.model.map(String);
  delete axes.model;
  const has = cells.map((cell) => String(cell.model));
  const unknown = wanted.filter((model) => !has.includes(model));
  if (unknown.length) throw new UserError(`--models ${unknown.join(',')}: ${source} has no cell of ${unknown.length === 1 ? 'that model' : 'those models'}; it has ${has.join(', ')}`);
  return { ...grid, cells: cells.filter((cell) => wanted.includes(String(cell.model))) };
}

function list(flag: string, raw: string): string[] {
  const values = raw.split(',').map((value) => value.trim());
  if (values.some((value) => value === '')) throw new UserError(`${flag}: '${raw}' has an empty entry; give a comma-separated list`);
  return values;
}
