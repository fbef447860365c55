import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { expandGrid } from '../../../trainer/src/sweep/grid';
import { addGridOptions, gridFromOptions } from '../../../trainer/src/sweep/grid-options';

function gridOf(...args: string[]) {
  const command = addGridOptions(new Command('sweep')).exitOverride().configureOutput({ writeErr: () => undefined });
  command.parse(['node', 'sweep', ...args]);
  return gridFromOptions(command);
}

function gridFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'grid-')), 'sweep.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('the sweep flags', () => {
  test('--models and --seeds are axes; other training options are the same in every cell', () => {
    const cells = expandGrid(gridOf('--models', 'micro,cnn-1', '--seeds', '1,2', '--image-size', '64', '--epochs', '1'));
    expect(cells.map((c) => c.name)).toEqual(['micro seed=1', 'micro seed=2', 'cnn-1 seed=1', 'cnn-1 seed=2']);
    expect(cells.every((c) => c.config.imageSize === 64 && c.config.epochs === 1)).toBe(true);
  });

  test('--preset seed is the original comparison: its five networks with its settings', () => {
    const cells = expandGrid(gridOf('--preset', 'seed'));
    expect(cells.map((c) => c.config.model)).toEqual(['vgg16', 'cnn-1', 'cnn-2', 'cnn-3', 'cnn-4']);
    expect(cells[0].config.weights).toBe('imagenet');
    for (const { config } of cells) {
      expect(config).toMatchObject({
        imageSize: 100, batchSize: 128, epochs: 10, learningRate: 0.001, lrSchedule: 'constant', patience: 0,
        augment: true, augmentSymmetries: 'flips', augmentBrightness: 0, tta: false,
      });
    }
  });

  test('--models picks cells of a preset, each with its own settings, instead of multiplying them', () => {
    const cells = expandGrid(gridOf('--preset', 'seed', '--models', 'cnn-2,vgg16', '--image-size', '50'));
    expect(cells.map((c) => [c.config.model, c.config.weights, c.config.imageSize])).toEqual([['vgg16', 'imagenet', 50], ['cnn-2', undefined, 50]]);
    expect(() => gridOf('--preset', 'seed', '--models', 'cnn-2,compact')).toThrow(/--models compact: --preset seed has no cell of that model; it has vgg16, cnn-1, cnn-2, cnn-3, cnn-4/);
  });

  test('a flag overrides what the preset gives every cell', () => {
    const cells = expandGrid(gridOf('--preset', 'seed', '--batch-size', '64', '--epochs', '3'));
    expect(cells.every((c) => c.config.batchSize === 64 && c.config.epochs === 3 && c.config.imageSize === 100)).toBe(true);
  });

  test('a grid file, with flags for what every cell shares', () => {
    const file = gridFile({ axes: { 'learning-rate': [0.001, 0.0003] }, cells: [{ model: 'micro' }, { model: 'compact', augment: true }] });
    const cells = expandGrid(gridOf('--grid', file, '--epochs', '2'));
    expect(cells).toHaveLength(4);
    expect(cells.map((c) => [c.config.model, c.config.learningRate, c.config.epochs])).toContainEqual(['compact', 0.0003, 2]);
  });

  test.each([
    [['--models', 'micro', '--model', 'compact'], /give --models or --model, not both/],
    [['--seeds', '1,x'], /--seeds: 'x' is not a whole number of 0 or more/],
    [['--models', 'micro,,cnn-1'], /--models: 'micro,,cnn-1' has an empty entry/],
    [['--epochs', '3'], /a sweep needs cells: give --models, --seeds, --grid <file.json> or --preset seed/],
    [['--preset', 'seed', '--model', 'compact'], /--model: --preset seed sets it cell by cell; leave it out, or change the grid/],
  ])('refuses %j, naming the flag', (args, message) => {
    expect(() => gridOf(...args)).toThrow(message);
  });

  test('a grid file that sets an option per cell refuses the same option as a flag', () => {
    const file = gridFile({ cells: [{ 'batch-size': 32 }, { 'batch-size': 64 }] });
    expect(() => gridOf('--grid', file, '--batch-size', '16')).toThrow(`--batch-size: --grid ${file} sets it cell by cell`);
  });
});
