import { expandGrid, MAX_CELLS, PRESETS } from '../../../trainer/src/sweep/grid';
import { cellOf, cellRunName, planSweep, SWEEP_ID_PATTERN } from '../../../trainer/src/sweep/plan';
import { UserError } from '../../../trainer/src/user-error';

describe('expandGrid', () => {
  test('the cross product of the axes, each cell validated and named by what varies', () => {
    const cells = expandGrid({ fixed: { epochs: 1, data: 'synthetic:400' }, axes: { model: ['micro', 'cnn-1'], seed: [1, 2] } });
    expect(cells.map((c) => c.name)).toEqual(['micro seed=1', 'micro seed=2', 'cnn-1 seed=1', 'cnn-1 seed=2']);
    expect(cells.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(cells[3].config).toMatchObject({ model: 'cnn-1', seed: 2, epochs: 1, data: 'synthetic:400', imageSize: 100 });
    expect(cells[3].varied).toEqual({ model: 'cnn-1', seed: '2' });
    expect(cells[3].options).toEqual({ epochs: 1, data: 'synthetic:400', model: 'cnn-1', seed: 2 });
  });

  test('keys may be spelled as flags', () => {
    const [cell] = expandGrid({ fixed: { 'batch-size': 32 }, axes: { 'image-size': [64] } });
    expect(cell.config).toMatchObject({ batchSize: 32, imageSize: 64 });
  });

  test('the seed preset is the original five-model comparison: VGG16 with ImageNet weights and four CNNs at 100 px, batch 128, 10 epochs', () => {
    const cells = expandGrid(PRESETS.seed);
    expect(cells.map((c) => c.name)).toEqual(['vgg16 weights=imagenet', 'cnn-1', 'cnn-2', 'cnn-3', 'cnn-4']);
    expect(cells[0].config).toMatchObject({ model: 'vgg16', weights: 'imagenet', imageSize: 100, batchSize: 128, epochs: 10 });
    expect(cells[1].config.weights).toBeUndefined();
  });

  test('--cv K makes a cell of each fold, so folds can train side by side', () => {
    const cells = expandGrid({ fixed: { cv: 3 }, axes: { model: ['micro', 'compact'] } });
    expect(cells.map((c) => c.name)).toEqual([
      'micro cv-fold=1', 'micro cv-fold=2', 'micro cv-fold=3', 'compact cv-fold=1', 'compact cv-fold=2', 'compact cv-fold=3',
    ]);
    expect(cells[4].config).toMatchObject({ model: 'compact', cv: 3, cvFold: 2 });
  });

  test('every bad cell is reported before anything runs, each naming its cell', () => {
    const attempt = () => expandGrid({ axes: { model: ['micro', 'vgg16'], epochs: [0, 2] }, fixed: { freezeBase: true } });
    expect(attempt).toThrow(UserError);
    expect(attempt).toThrow(/cell 1 \(micro epochs=0\): .*--epochs: must be a whole number of at least 1/s);
    expect(attempt).toThrow(/cell 3 \(vgg16 epochs=0\)/);
    expect(() => expandGrid({ axes: { modle: ['micro'] } })).toThrow(/--modle: unknown option; did you mean --model\?/);
  });

  test('an empty axis and an absurdly large grid are refused with the reason', () => {
    expect(() => expandGrid({ axes: { seed: [] } })).toThrow('sweep axis --seed: give at least one value');
    const seeds = Array.from({ length: MAX_CELLS + 1 }, (_, i) => i);
    expect(() => expandGrid({ axes: { seed: seeds } })).toThrow(`the sweep has ${MAX_CELLS + 1} cells; at most ${MAX_CELLS} are allowed`);
  });
});

describe('the plan', () => {
  const plan = planSweep(expandGrid({ axes: { model: ['micro', 'cnn-1'] } }), new Date('2026-11-30T10:15:00Z'));

  test('has an id of the time it was made and the cells in order', () => {
    expect(plan.sweepId).toMatch(SWEEP_ID_PATTERN);
    expect(plan.sweepId).toMatch(/^sweep-20261130-101500-/);
    expect(plan.cells.map((c) => cellRunName(c))).toEqual(['01-micro', '02-cnn-1']);
  });

  test('an array child takes its cell from AWS_BATCH_JOB_ARRAY_INDEX, or --index', () => {
    expect(cellOf(plan, undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '1' }).name).toBe('cnn-1');
    expect(cellOf(plan, 0, {}).name).toBe('micro');
    expect(() => cellOf(plan, undefined, {})).toThrow('give --index, or run it as an AWS Batch array child');
    expect(() => cellOf(plan, 2, {})).toThrow("index 2 is outside the plan's 2 cells");
  });
});
