import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../../trainer/src/user-error';
import { mulberry32, randomInt } from '../../../trainer/src/data/random';
import {
  SPLIT_NAMES,
  applySplit,
  checkSplitCoverage,
  leftOutWarning,
  makeFoldSplit,
  makeSplit,
  patientOf,
  patientsInSeveralSplits,
  readSplit,
  saveSplit,
  splitDigest,
} from '../../../trainer/src/data/split';
import type { LabeledImages, Split, SplitName } from '../../../trainer/src/data/types';

/** A made-up NIH-like set: `patients` patients with uneven cell counts and parasitaemia, some with no infected cells. */
function nihLike(patients: number, seed: number): { files: string[]; labels: Uint8Array } {
  const random = mulberry32(seed);
  const files: string[] = [];
  const labels: number[] = [];
  for (let p = 0; p < patients; p++) {
    const cells = randomInt(random, 20, 250);
    const infected = p % 4 === 0 ? 0 : random();
    for (let k = 0; k < cells; k++) {
      const label = random() < infected ? 1 : 0;
      files.push(`${label ? 'Parasitized' : 'Uninfected'}/C${p}P${p}thinF_IMG_2015_${k >> 4}_cell_${k}.png`);
      labels.push(label);
    }
  }
  return { files, labels: Uint8Array.from(labels) };
}

const DATA = nihLike(120, 7);
const OPTS = { mode: 'patient', seed: 42, fractions: [0.8, 0.1, 0.1] } as const;

function positiveShare(files: readonly string[]): number {
  return files.filter((file) => file.startsWith('Parasitized/')).length / files.length;
}

/** How far each split's share of the images, and its share of positives, stray from the targets. */
function deviations(split: Split): { size: number; balance: number } {
  const whole = positiveShare(DATA.files);
  const stray = (f: (name: SplitName, s: number) => number) => Math.max(...SPLIT_NAMES.map(f));
  return {
    size: stray((name, s) => Math.abs(split[name].length / DATA.files.length - OPTS.fractions[s])),
    balance: stray((name) => Math.abs(positiveShare(split[name]) - whole)),
  };
}

describe('patientOf', () => {
  test.each([
    ['Parasitized/C33P1thinF_IMG_20150619_114756a_cell_179.png', 'C33P1thinF'],
    ['C100P61ThinF_IMG_20150918_144104_cell_162.png', 'C100P61ThinF'],
    ['Uninfected/sub/no-marker.png', 'no-marker'],
  ])('%s belongs to %s', (file, patient) => expect(patientOf(file)).toBe(patient));
});

describe('makeSplit by patient', () => {
  const split = makeSplit(DATA.files, DATA.labels, OPTS);

  test('puts every file in exactly one split and no patient in two', () => {
    const all = [...split.train, ...split.validation, ...split.test];
    expect(all.sort()).toEqual([...DATA.files].sort());
    const splitsOf = new Map<string, Set<string>>();
    for (const name of SPLIT_NAMES) {
      for (const file of split[name]) splitsOf.set(patientOf(file), (splitsOf.get(patientOf(file)) ?? new Set()).add(name));
    }
    expect([...splitsOf.values()].filter((names) => names.size > 1)).toEqual([]);
  });

  test('comes close to the fractions and keeps each split\'s class balance near the whole\'s', () => {
    const { size, balance } = deviations(split);
    expect(size).toBeLessThan(0.01);
    expect(balance).toBeLessThan(0.01);
  });

  test('is the same for the same seed, whatever the file order, and differs for another seed', () => {
    const order = DATA.files.map((_, i) => i).reverse();
    const reordered = makeSplit(order.map((i) => DATA.files[i]), order.map((i) => DATA.labels[i]), OPTS);
    expect(splitDigest(reordered)).toBe(splitDigest(split));
    expect(makeSplit(DATA.files, DATA.labels, { ...OPTS, seed: 43 }).test).not.toEqual(split.test);
  });

  test('too few patients for three splits is a clear error', () => {
    const files = ['Parasitized/A_IMG_1_cell_1.png', 'Uninfected/A_IMG_1_cell_2.png', 'Parasitized/B_IMG_1_cell_1.png'];
    expect(() => makeSplit(files, [1, 0, 1], OPTS)).toThrow(/2 patients cannot be split 0\.8\/0\.1\/0\.1.*--split cell/);
  });
});

describe('makeSplit by cell', () => {
  const split = makeSplit(DATA.files, DATA.labels, { ...OPTS, mode: 'cell' });

  test('is stratified: each split has the fraction of each class', () => {
    const { size, balance } = deviations(split);
    expect(size).toBeLessThan(0.002);
    expect(balance).toBeLessThan(0.005);
  });

  test('mixes patients across splits, unlike patient mode', () => {
    const trainPatients = new Set(split.train.map(patientOf));
    expect(split.test.some((file) => trainPatients.has(patientOf(file)))).toBe(true);
  });
});

describe('saving and reusing a split, checked against itself and the data set', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'split-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('round-trips through split.json, read from the file or its run folder', () => {
    const split = makeSplit(DATA.files, DATA.labels, OPTS);
    saveSplit(join(dir, 'split.json'), split);
    expect(readSplit(join(dir, 'split.json'))).toEqual(split);
    expect(splitDigest(readSplit(dir))).toBe(splitDigest(split));
  });

  test.each([
    ['missing', null, /--split-from .*: no such file or folder/],
    ['not JSON', '{"mode":', /is not valid JSON/],
    ['the wrong shape', '{"mode":"random","seed":1}', /is not a split file \(mode: .*train: /],
    ['a file twice', JSON.stringify({ mode: 'cell', seed: 1, fractions: [0.8, 0.1, 0.1], train: ['a'], validation: ['a'], test: [] }), /a appears more than once/],
  ])('a split file that is %s is a UserError', async (_name, contents, message) => {
    const path = join(dir, 'split.json');
    if (contents !== null) await writeFile(path, contents);
    expect(() => readSplit(path)).toThrow(UserError);
    expect(() => readSplit(path)).toThrow(message);
  });

  const mixed = {
    seed: 1, fractions: [0.8, 0.1, 0.1],
    train: ['Parasitized/A_IMG_1_cell_1.png', 'Parasitized/B_IMG_1_cell_1.png', 'Parasitized/C_IMG_1_cell_1.png', 'Parasitized/D_IMG_1_cell_1.png', 'Uninfected/E_IMG_1_cell_1.png'],
    validation: ['Uninfected/A_IMG_1_cell_2.png', 'Uninfected/B_IMG_1_cell_2.png'],
    test: ['Uninfected/C_IMG_1_cell_2.png', 'Uninfected/D_IMG_1_cell_2.png', 'Parasitized/A_IMG_1_cell_3.png'],
  };

  test('a patient split with patients in two splits is refused, naming a few and the way to a cell split', async () => {
    const path = join(dir, 'split.json');
    await writeFile(path, JSON.stringify({ mode: 'patient', ...mixed }));
    expect(() => readSplit(path)).toThrow(UserError);
    expect(() => readSplit(path)).toThrow(`${path} says it splits by patient, but 4 of its 5 patients have cells in more than one split `
      + '(A in train and validation and test; B in train and validation; C in train and test; ...), so its test figures would not be about new patients. '
      + 'If mixing a patient\'s cells is intended, that is a cell split: set "mode": "cell" in the file, or make one with --split cell');
  });

  test('a cell split may mix patients: it is read, and the patients it mixes are counted', async () => {
    const path = join(dir, 'split.json');
    await writeFile(path, JSON.stringify({ mode: 'cell', ...mixed }));
    expect(patientsInSeveralSplits(readSplit(path)).map((p) => p.patient)).toEqual(['A', 'B', 'C', 'D']);
  });

  test('images the split leaves out are counted and named; files it names that the data lacks are an error', () => {
    const split = makeSplit(DATA.files, DATA.labels, OPTS);
    const extra = ['Uninfected/Z_IMG_9_cell_1.png', 'Uninfected/Y_IMG_9_cell_1.png', 'Parasitized/X_IMG_9_cell_1.png', 'Parasitized/W_IMG_9_cell_1.png'];
    const coverage = checkSplitCoverage(split, [...DATA.files, ...extra]);
    expect(coverage.files.size).toBe(DATA.files.length);
    expect(coverage.leftOut).toEqual([...extra].sort());
    expect(leftOutWarning(coverage.leftOut, DATA.files.length + 4)).toBe(
      `warning: the split (--split-from) leaves out 4 of the data set's ${DATA.files.length + 4} images `
        + '(Parasitized/W_IMG_9_cell_1.png, Parasitized/X_IMG_9_cell_1.png, Uninfected/Y_IMG_9_cell_1.png, ...); they are not used. '
        + 'Drop --split-from to split all of them.',
    );
    expect(leftOutWarning(checkSplitCoverage(split, DATA.files).leftOut, DATA.files.length)).toBeUndefined();
    expect(() => checkSplitCoverage(split, DATA.files.slice(1))).toThrow(/names 1 of its \d+ files that the data set lacks/);
  });
});

describe('applySplit', () => {
  const size = 2;
  const files = ['Parasitized/A_IMG_1_cell_1.png', 'Uninfected/A_IMG_1_cell_2.png', 'Parasitized/B_IMG_1_cell_1.png', 'Uninfected/C_IMG_1_cell_1.png'];
  // Image i has every byte equal to i + 1, so a test can see which image landed where.
  const images: LabeledImages = {
    size,
    files,
    labels: Uint8Array.of(1, 0, 1, 0),
    pixels: Uint8Array.from({ length: files.length * size * size * 3 }, (_, b) => Math.floor(b / (size * size * 3)) + 1),
  };
  const split: Split = { mode: 'cell', seed: 1, fractions: [0.5, 0.25, 0.25], train: [files[2], files[3]], validation: [files[0]], test: [files[1]] };

  test('gives each split its images with their own labels and pixels', () => {
    const parts = applySplit(images, split);
    expect(parts.train.files).toEqual([files[2], files[3]]);
    expect(Array.from(parts.train.labels)).toEqual([1, 0]);
    expect(Array.from(parts.train.pixels)).toEqual([...new Array(12).fill(3), ...new Array(12).fill(4)]);
    expect(Array.from(parts.test.pixels)).toEqual(new Array(12).fill(2));
    expect(parts.validation.size).toBe(size);
  });

  test('a split naming files the data set lacks is a UserError', () => {
    const other: Split = { ...split, test: ['Uninfected/Z_IMG_9_cell_9.png'] };
    expect(() => applySplit(images, other)).toThrow(UserError);
    expect(() => applySplit(images, other)).toThrow(/names 1 of its 4 files that the data set lacks, e\.g\. Uninfected\/Z_IMG_9_cell_9\.png/);
  });
});

test('mulberry32 repeats its sequence for a seed and spreads values over [0, 1)', () => {
  const a = mulberry32(9);
  const b = mulberry32(9);
  const values = Array.from({ length: 10_000 }, () => a());
  expect(Array.from({ length: 10_000 }, () => b())).toEqual(values);
  expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
  expect(Math.max(...values)).toBeLessThan(1);
  expect(Math.abs(values.reduce((s, v) => s + v, 0) / values.length - 0.5)).toBeLessThan(0.01);
  expect(mulberry32(10)()).not.toBe(values[0]);
});

describe('makeFoldSplit: patient-grouped, class-stratified K-fold cross-validation', () => {
  const folds = [1, 2, 3, 4, 5].map((fold) => makeFoldSplit(DATA.files, DATA.labels, { ...OPTS, folds: 5, fold }));

  test('over the K folds every image is tested exactly once', () => {
    const tested = folds.flatMap((split) => split.test);
    expect(tested).toHaveLength(DATA.files.length);
    expect(new Set(tested).size).toBe(DATA.files.length);
    expect(folds.map((split) => split.fold)).toEqual([1, 2, 3, 4, 5].map((fold) => ({ folds: 5, fold })));
  });

  test('within a fold no patient is in two parts, and every image is in one', () => {
    for (const split of folds) {
      const owner = new Map<string, SplitName>();
      const shared: string[] = [];
      for (const name of SPLIT_NAMES) {
        for (const file of split[name]) {
          const patient = patientOf(file);
          if ((owner.get(patient) ?? name) !== name) shared.push(patient);
          owner.set(patient, name);
        }
      }
      expect(shared).toEqual([]);
      expect(split.train.length + split.validation.length + split.test.length).toBe(DATA.files.length);
    }
  });

  test('each test fold holds about a fifth of the images, with the data set\'s class balance; validation is a ninth of the rest', () => {
    const whole = positiveShare(DATA.files);
    for (const split of folds) {
      expect(Math.abs(split.test.length / DATA.files.length - 0.2)).toBeLessThan(0.03);
      expect(Math.abs(positiveShare(split.test) - whole)).toBeLessThan(0.03);
      const rest = split.train.length + split.validation.length;
      expect(Math.abs(split.validation.length / rest - 1 / 9)).toBeLessThan(0.03);
    }
  });

  test('the same seed gives the same folds; another seed other folds', () => {
    expect(makeFoldSplit(DATA.files, DATA.labels, { ...OPTS, folds: 5, fold: 2 })).toEqual(folds[1]);
    expect(makeFoldSplit(DATA.files, DATA.labels, { ...OPTS, seed: 43, folds: 5, fold: 2 }).test).not.toEqual(folds[1].test);
  });

  test('cell by cell, folds are stratified too', () => {
    const cells = [1, 2, 3].map((fold) => makeFoldSplit(DATA.files, DATA.labels, { ...OPTS, mode: 'cell', folds: 3, fold }));
    expect(new Set(cells.flatMap((split) => split.test)).size).toBe(DATA.files.length);
    for (const split of cells) expect(Math.abs(positiveShare(split.test) - positiveShare(DATA.files))).toBeLessThan(0.01);
  });

  test('too few patients for K folds is a clear error', () => {
    const few = nihLike(7, 1);
    expect(() => makeFoldSplit(few.files, few.labels, { ...OPTS, folds: 5, fold: 1 }))
      .toThrow(new UserError('--cv 5: 7 patients are too few for 5 folds with a validation set each; use fewer folds or more data'));
  });
});
