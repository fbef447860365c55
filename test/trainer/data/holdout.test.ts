import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readHoldout } from '../../../trainer/src/data/holdout';
import { makeHoldoutSplit, makeSplit, patientOf, readSplit, saveSplit, splitDigest } from '../../../trainer/src/data/split';

/** 30 patients of 10 cells each, every third one with some parasitized cells. */
const FILES = Array.from({ length: 300 }, (_, i) => {
  const patient = Math.floor(i / 10);
  const label = patient % 3 === 0 && i % 2 === 0 ? 1 : 0;
  return `${label ? 'Parasitized' : 'Uninfected'}/P${patient}_IMG_1_cell_${i}.png`;
});
const LABELS = FILES.map((file) => (file.startsWith('Parasitized/') ? 1 : 0));
const HELD = ['P0', 'P4', 'P11', 'P17', 'P22'];
const OPTS = { mode: 'patient', seed: 42, fractions: [0.8, 0.1, 0.1] } as const;
const patients = (files: readonly string[]) => new Set(files.map(patientOf));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'holdout-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('makeHoldoutSplit', () => {
  test('tests on exactly the held-out patients, whatever the seed, and trains and validates on the others', () => {
    const splits = [42, 7].map((seed) => makeHoldoutSplit(FILES, LABELS, HELD, { ...OPTS, seed }));
    for (const split of splits) {
      expect(patients(split.test)).toEqual(new Set(HELD));
      expect(split.test).toHaveLength(50);
      for (const file of [...split.train, ...split.validation]) expect(HELD).not.toContain(patientOf(file));
      expect(split.train.length + split.validation.length).toBe(250);
      expect(split.holdout).toEqual([...HELD].sort());
    }
    expect(splits[0].test).toEqual(splits[1].test);
    expect(splits[0].validation).not.toEqual(splits[1].validation);
    // Train and validation keep the ratio of their fractions (8:1) within a patient or two.
    expect(splits[0].validation.length).toBeGreaterThanOrEqual(20);
    expect(splits[0].validation.length).toBeLessThanOrEqual(40);
  });

  test('with --cv the folds are cut from the other patients, and no fold sees the held-out ones', () => {
    const tested: string[] = [];
    for (const fold of [1, 2, 3]) {
      const split = makeHoldoutSplit(FILES, LABELS, HELD, { ...OPTS, folds: 3, fold });
      for (const file of [...split.train, ...split.validation, ...split.test]) expect(HELD).not.toContain(patientOf(file));
      expect(split.fold).toEqual({ folds: 3, fold });
      expect(split.holdout).toEqual([...HELD].sort());
      tested.push(...split.test);
    }
    // Every image of the other patients is tested exactly once.
    expect(tested.sort()).toEqual(FILES.filter((file) => !HELD.includes(patientOf(file))).sort());
  });

  test('patients the data lacks, or none left to train on, are user errors', () => {
    expect(() => makeHoldoutSplit(FILES, LABELS, ['P1', 'C99P60ThinF'], OPTS)).toThrow(/--holdout names 1 of its 2 patients that the data set lacks, e.g. C99P60ThinF/);
    const all = [...patients(FILES)];
    expect(() => makeHoldoutSplit(FILES, LABELS, all, OPTS)).toThrow(/holds out every patient/);
  });

  test('the held-out patients are saved with the split and change its digest', async () => {
    const split = makeHoldoutSplit(FILES, LABELS, HELD, OPTS);
    const path = join(dir, 'split.json');
    saveSplit(path, split);
    const read = readSplit(path);
    expect(read.holdout).toEqual(split.holdout);
    expect(splitDigest(read)).toBe(splitDigest(split));
    expect(splitDigest({ ...split, holdout: undefined })).not.toBe(splitDigest(split));
    // A split without a holdout keeps the digest it always had.
    const plain = makeSplit(FILES, LABELS, OPTS);
    expect(JSON.stringify(plain)).not.toContain('holdout');
  });
});

describe('readHoldout', () => {
  test('reads patient ids one per line, with comments and blank lines', async () => {
    const path = join(dir, 'held.txt');
    await writeFile(path, '# kept out of all tuning\nP4\n\nP0   # the first\nP4\n');
    expect(readHoldout(path)).toEqual(['P0', 'P4']);
  });

  test('takes the test patients of a split.json', async () => {
    const path = join(dir, 'from-split.json');
    saveSplit(path, makeHoldoutSplit(FILES, LABELS, HELD, OPTS));
    expect(readHoldout(path)).toEqual([...HELD].sort());
  });

  test('a missing or empty file is a user error that says what to give', async () => {
    expect(() => readHoldout(join(dir, 'nope.txt'))).toThrow(/--holdout .*nope\.txt: no such file; give a text file of patient ids/);
    const empty = join(dir, 'empty.txt');
    await writeFile(empty, '# nothing yet\n');
    expect(() => readHoldout(empty)).toThrow(/names no patients/);
  });
});
