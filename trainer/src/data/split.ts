import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../user-error';
import { type Random, deriveSeed, mulberry32, shuffleInPlace } from './random';
import type { LabeledImages, Split, SplitName } from './types';

export const SPLIT_NAMES: readonly SplitName[] = ['train', 'validation', 'test'];
export const SPLIT_FILE = 'split.json';

export interface SplitOptions {
  readonly mode: 'patient' | 'cell';
  readonly seed: number;
  /** Train, validation and test shares, adding up to 1. */
  readonly fractions: readonly [number, number, number];
}

/**
 * The patient a cell image comes from: the file name's text before `_IMG_` (NIH names such as
 * `C33P1thinF_IMG_20150619_114756a_cell_179.png`). A name without `_IMG_` is its own patient (the name
 * without extension), so such images are split cell by cell.
 */
export function patientOf(file: string): string {
  const name = file.slice(file.lastIndexOf('/') + 1);
  const marker = name.indexOf('_IMG_');
  return marker > 0 ? name.slice(0, marker) : name.replace(/\.[^.]*$/, '');
}

/**
 * Splits the images into train, validation and test, deterministically for a seed and stratified by
 * class. In patient mode every patient's images land in one split, and patients are assigned so that
 * each split's size and class balance come close to the targets (see assignGroups); in cell mode
 * each class is shuffled and cut at the fractions.
 */
export function makeSplit(files: readonly string[], labels: ArrayLike<number>, opts: SplitOptions): Split {
  if (files.length !== labels.length) throw new RangeError(`${files.length} files but ${labels.length} labels`);
  const groups = opts.mode === 'patient' ? patientGroups(files) : files.map((_, i) => [i]);
  const assignment = assignUnits(groups, labels, opts.fractions, mulberry32(opts.seed));
  return toSplit(files, groups, assignment, opts, (s) => {
    const unit = opts.mode === 'patient' ? `${groups.length} patients` : `${files.length} images`;
    return `the ${SPLIT_NAMES[s]} split is empty: ${unit} cannot be split ${opts.fractions.join('/')}; use more data${opts.mode === 'patient' ? ' or --split cell' : ''}`;
  });
}

export interface FoldOptions extends SplitOptions {
  /** Number of folds, K >= 2. */
  readonly folds: number;
  /** Which fold is the test set, 1..K. */
  readonly fold: number;
}

/**
 * Fold `fold` of a K-fold cross-validation, grouped by patient (or cell by cell) and stratified by
 * class like makeSplit: the data is cut into K folds (the same K for every fold index, for a seed),
 * fold `fold` is the test set, and the other K-1 are split into train and validation in the ratio
 * of the train and validation fractions. Over the K folds every image is tested exactly once.
 */
export function makeFoldSplit(files: readonly string[], labels: ArrayLike<number>, opts: FoldOptions): Split {
  const { groups, foldOf } = cutFolds(files, labels, opts);
  const rest = groups.map((_, g) => g).filter((g) => foldOf[g] !== opts.fold - 1);
  const [train, validation] = opts.fractions;
  const inner = assignUnits(rest.map((g) => groups[g]), labels, [train / (train + validation), validation / (train + validation)],
    mulberry32(deriveSeed(opts.seed, opts.fold)));
  const assignment: number[] = foldOf.map((f) => (f === opts.fold - 1 ? 2 : 0));
  rest.forEach((g, k) => (assignment[g] = inner[k]));
  return {
    ...toSplit(files, groups, assignment, opts, (s) => `--cv ${opts.folds}: fold ${opts.fold} has an empty ${SPLIT_NAMES[s]} set; use fewer folds or more data`),
    fold: { folds: opts.folds, fold: opts.fold },
  };
}

/**
 * How many units (patients; images with `--split cell`) each of the K folds of a cross-validation
 * holds, for a seed: what each fold will be tested on. Cheap: only file names and labels are needed.
 * @throws UserError when there are too few units for K folds
 */
export function foldSizes(files: readonly string[], labels: ArrayLike<number>, opts: Omit<FoldOptions, 'fold'>): number[] {
  const { foldOf } = cutFolds(files, labels, opts);
  const sizes = new Array<number>(opts.folds).fill(0);
  for (const fold of foldOf) sizes[fold]++;
  return sizes;
}

/** The units and the fold (0-based) each is tested in; the same for every fold index, for a seed. */
function cutFolds(files: readonly string[], labels: ArrayLike<number>, opts: Omit<FoldOptions, 'fold'>): { groups: number[][]; foldOf: number[] } {
  if (files.length !== labels.length) throw new RangeError(`${files.length} files but ${labels.length} labels`);
  const groups = opts.mode === 'patient' ? patientGroups(files) : files.map((_, i) => [i]);
  const unit = opts.mode === 'patient' ? 'patients' : 'images';
  if (groups.length < opts.folds * 2) {
    throw new UserError(`--cv ${opts.folds}: ${groups.length} ${unit} are too few for ${opts.folds} folds with a validation set each; use fewer folds or more data`);
  }
  return { groups, foldOf: assignUnits(groups, labels, Array.from({ length: opts.folds }, () => 1 / opts.folds), mulberry32(opts.seed)) };
}

/** Which part (index into `fractions`) each group goes to, stratified by class. */
function assignUnits(groups: readonly number[][], labels: ArrayLike<number>, fractions: readonly number[], random: Random): number[] {
  return groups.every((members) => members.length === 1)
    ? cutEachClass(groups.map(([i]) => i), labels, fractions, random)
    : assignGroups(groups, labels, fractions, random);
}

function toSplit(
  files: readonly string[], groups: readonly number[][], assignment: readonly number[], opts: SplitOptions, empty: (part: number) => string,
  mayBeEmpty: (part: number) => boolean = () => false,
): Split {
  const parts: [string[], string[], string[]] = [[], [], []];
  groups.forEach((members, g) => members.forEach((i) => parts[assignment[g]].push(files[i])));
  for (const [s, part] of parts.entries()) {
    if (part.length === 0 && !mayBeEmpty(s)) throw new UserError(empty(s));
    part.sort();
  }
  return { mode: opts.mode, seed: opts.seed, fractions: [...opts.fractions], train: parts[0], validation: parts[1], test: parts[2] };
}

function patientGroups(files: readonly string[]): number[][] {
  const byPatient = new Map<string, number[]>();
  files.forEach((file, i) => {
    const patient = patientOf(file);
    const members = byPatient.get(patient);
    if (members) members.push(i);
    else byPatient.set(patient, [i]);
  });
  // Sorted by patient, so the outcome does not depend on the order files were listed in.
  return [...byPatient.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, members]) => members);
}

/** Tries of the greedy assignment, each in a different seeded order; the closest to target wins. */
const TRIES = 64;

/**
 * Assigns whole groups (patients) to splits. Each try visits the groups in a seeded random order and
 * puts each where it lowers the squared, target-normalised distance between the splits' per-class
 * counts and their targets the most; the try with the smallest final distance is kept. Random order
 * (rather than largest first) makes different seeds give different splits; many tries keep the result
 * balanced even with few patients.
 */
function assignGroups(groups: readonly number[][], labels: ArrayLike<number>, fractions: readonly number[], random: Random): number[] {
  const counts = groups.map((members) => {
    const c = [0, 0];
    for (const i of members) c[labels[i] ? 1 : 0]++;
    return c;
  });
  const totals = [0, 1].map((c) => counts.reduce((sum, n) => sum + n[c], 0));
  const targets = fractions.map((f) => totals.map((t) => Math.max(f * t, 1e-9)));
  let best: number[] = [];
  let bestCost = Infinity;
  for (let t = 0; t < TRIES; t++) {
    const order = shuffleInPlace(groups.map((_, g) => g), random);
    const filled = fractions.map(() => [0, 0]);
    const assignment = new Array<number>(groups.length);
    for (const g of order) {
      let choice = 0;
      let smallest = Infinity;
      for (let s = 0; s < fractions.length; s++) {
        // Change in Σ (filled - target)² / target when group g joins split s.
        let delta = 0;
        for (let c = 0; c < 2; c++) delta += (counts[g][c] * (2 * (filled[s][c] - targets[s][c]) + counts[g][c])) / targets[s][c];
        if (delta < smallest) [smallest, choice] = [delta, s];
      }
      assignment[g] = choice;
      for (let c = 0; c < 2; c++) filled[choice][c] += counts[g][c];
    }
    let cost = 0;
    for (let s = 0; s < fractions.length; s++) for (let c = 0; c < 2; c++) cost += (filled[s][c] - targets[s][c]) ** 2 / targets[s][c];
    if (cost < bestCost) [bestCost, best] = [cost, assignment];
  }
  return best;
}

/** Cell by cell: shuffle each class and cut it at the fractions, so every part keeps the class balance. */
function cutEachClass(members: readonly number[], labels: ArrayLike<number>, fractions: readonly number[], random: Random): number[] {
  const assignment = new Array<number>(members.length);
  for (const label of [0, 1]) {
    const ofClass = shuffleInPlace(members.map((_, k) => k).filter((k) => (labels[members[k]] ? 1 : 0) === label), random);
    let end = 0;
    let share = 0;
    fractions.forEach((fraction, part) => {
      const start = end;
      share += fraction;
      end = part === fractions.length - 1 ? ofClass.length : Math.round(share * ofClass.length);
      for (let k = start; k < end; k++) assignment[ofClass[k]] = part;
    });
  }
  return assignment;
}

/** SHA-256 (hex) of the split's mode, seed, fractions, file lists and held-out patients: equal digests, equal splits. */
export function splitDigest(split: Split): string {
  const { mode, seed, fractions, train, validation, test, holdout } = split;
  return createHash('sha256').update(JSON.stringify({ mode, seed, fractions, train, validation, test, ...(holdout ? { holdout } : {}) })).digest('hex');
}

const SplitFileSchema = z.object({
  mode: z.enum(['patient', 'cell']),
  seed: z.number().int(),
  fractions: z.tuple([z.number(), z.number(), z.number()]),
  train: z.array(z.string()),
  validation: z.array(z.string()),
  test: z.array(z.string()),
  fold: z.object({ folds: z.number().int().min(2), fold: z.number().int().positive() }).optional(),
  holdout: z.array(z.string()).optional(),
});

/** Writes the split as JSON (one file name per line, so a diff of two splits reads well). */
export function saveSplit(path: string, split: Split): void {
  const list = (files: readonly string[]) => (files.length ? `[\n${files.map((f) => `    ${JSON.stringify(f)}`).join(',\n')}\n  ]` : '[]');
  const json = [
    '{',
    `  "mode": ${JSON.stringify(split.mode)},`,
    `  "seed": ${split.seed},`,
    `  "fractions": ${JSON.stringify(split.fractions)},`,
    `  "digest": ${JSON.stringify(splitDigest(split))},`,
    ...(split.fold ? [`  "fold": ${JSON.stringify(split.fold)},`] : []),
    ...(split.holdout ? [`  "holdout": ${JSON.stringify(split.holdout)},`] : []),
    ...SPLIT_NAMES.map((name, s) => `  "${name}": ${list(split[name])}${s < 2 ? ',' : ''}`),
    '}',
  ].join('\n');
  writeFileSync(path, `${json}\n`);
}

/** Reads a split saved by saveSplit, from its file or from the run folder holding `split.json`. */
export function readSplit(pathOrRunDir: string): Split {
  let path = pathOrRunDir;
  let text: string;
  try {
    if (statSync(path).isDirectory()) path = join(path, SPLIT_FILE);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file or folder' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message;
    throw new UserError(`--split-from ${path}: ${why}; give a split.json or the run folder that holds one`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path} is not valid JSON (${(err as Error).message}); it should be a split.json written by a run`);
  }
  const result = SplitFileSchema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(top)'}: ${issue.message}`).join('; ');
    throw new UserError(`${path} is not a split file (${problems})`);
  }
  const split: Split = result.data;
  const seen = new Set<string>();
  for (const name of SPLIT_NAMES) {
    for (const file of split[name]) {
      if (seen.has(file)) throw new UserError(`${path} is not a valid split: ${file} appears more than once`);
      seen.add(file);
    }
  }
  const shared = split.mode === 'patient' ? patientsInSeveralSplits(split) : [];
  if (shared.length > 0) {
    const patients = new Set([...seen].map(patientOf)).size;
    const named = shared.slice(0, EXAMPLES).map(({ patient, splits }) => `${patient} in ${splits.join(' and ')}`).join('; ');
    throw new UserError(
      `${path} says it splits by patient, but ${shared.length} of its ${patients} patients have cells in more than one split `
        + `(${named}${shared.length > EXAMPLES ? '; ...' : ''}), so its test figures would not be about new patients. `
        + 'If mixing a patient\'s cells is intended, that is a cell split: set "mode": "cell" in the file, or make one with --split cell; '
        + 'otherwise drop --split-from to make a patient split.',
    );
  }
  return split;
}

/** Files or patients a message names before it says "..." */
const EXAMPLES = 3;

/** Patients with cells in more than one split, by name, each with the splits that hold them. */
export function patientsInSeveralSplits(split: Pick<Split, SplitName>): { patient: string; splits: SplitName[] }[] {
  const splitsOf = new Map<string, Set<SplitName>>();
  for (const name of SPLIT_NAMES) {
    for (const file of split[name]) {
      const patient = patientOf(file);
      splitsOf.set(patient, (splitsOf.get(patient) ?? new Set()).add(name));
    }
  }
  return [...splitsOf].filter(([, splits]) => splits.size > 1).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([patient, splits]) => ({ patient, splits: SPLIT_NAMES.filter((name) => splits.has(name)) }));
}

/** How a reused split meets the data set's images. */
export interface SplitCoverage {
  /** The split's files: the only images to decode. */
  readonly files: ReadonlySet<string>;
  /** Images of the data set that the split does not name, sorted: not used. */
  readonly leftOut: readonly string[];
}

/**
 * Checks a reused split against the images the data set offers (after --limit), before any is
 * decoded. Files it names that the data set lacks are an error: it was made for other data. Images
 * it leaves out are not: a split may leave cells out on purpose, and the images an earlier run could
 * not read are in no split, so they are only counted (see leftOutWarning) and never decoded.
 */
export function checkSplitCoverage(split: Split, available: readonly string[]): SplitCoverage {
  const files = new Set(SPLIT_NAMES.flatMap((name) => split[name]));
  const offered = new Set(available);
  throwIfLacking(split, (file) => offered.has(file));
  return { files, leftOut: available.filter((file) => !files.has(file)).sort() };
}

/** What a run says when its reused split leaves images of the data set out, or undefined when it leaves none. */
export function leftOutWarning(leftOut: readonly string[], available: number): string | undefined {
  if (leftOut.length === 0) return undefined;
  const named = leftOut.slice(0, EXAMPLES).join(', ') + (leftOut.length > EXAMPLES ? ', ...' : '');
  return `warning: the split (--split-from) leaves out ${leftOut.length} of the data set's ${available} images (${named}); `
    + 'they are not used. Drop --split-from to split all of them.';
}

/** A UserError when the split names files that `has` says the data set lacks. */
function throwIfLacking(split: Split, has: (file: string) => boolean): void {
  const missing = SPLIT_NAMES.flatMap((name) => split[name].filter((file) => !has(file)));
  if (missing.length === 0) return;
  const named = split.train.length + split.validation.length + split.test.length;
  throw new UserError(
    `the split names ${missing.length} of its ${named} files that the data set lacks, e.g. ${missing.slice(0, EXAMPLES).join(', ')}. ` +
      `It was made for other data (or another --limit), or they could not be read; drop --split-from to make a new split.`,
  );
}

/**
 * The images of each split, in the split's (sorted) file order. Images the split does not name are left
 * out (checkSplitCoverage counts them); a split naming files the data set lacks (another data set,
 * another --limit, or images that became unreadable) is a UserError.
 */
export function applySplit(images: LabeledImages, split: Split): Record<SplitName, LabeledImages> {
  const index = new Map(images.files.map((file, i) => [file, i]));
  throwIfLacking(split, (file) => index.has(file));
  const bytes = images.size * images.size * 3;
  const subset = (files: readonly string[]): LabeledImages => {
    const pixels = new Uint8Array(files.length * bytes);
    const labels = new Uint8Array(files.length);
    files.forEach((file, k) => {
      const i = index.get(file)!;
      pixels.set(images.pixels.subarray(i * bytes, (i + 1) * bytes), k * bytes);
      labels[k] = images.labels[i];
    });
    return { size: images.size, pixels, labels, files: [...files] };
  };
  return { train: subset(split.train), validation: subset(split.validation), test: subset(split.test) };
}

/**
 * `--holdout`: the held-out patients' images are the test split whatever the seed, and nothing else
 * touches them. The other images are split into train and validation in the ratio of the train and
 * validation fractions (grouped and stratified like makeSplit), or, for fold `fold` of a K-fold
 * cross-validation, cut into folds as makeFoldSplit does, the held-out patients left out of all of them.
 */
export function makeHoldoutSplit(
  files: readonly string[], labels: ArrayLike<number>, heldOut: readonly string[], opts: SplitOptions & Partial<Pick<FoldOptions, 'folds' | 'fold'>>,
): Split {
  if (files.length !== labels.length) throw new RangeError(`${files.length} files but ${labels.length} labels`);
  const held = new Set(heldOut);
  const present = new Set(files.map(patientOf));
  const absent = heldOut.filter((patient) => !present.has(patient));
  if (absent.length > 0) {
    throw new UserError(`--holdout names ${absent.length} of its ${heldOut.length} patients that the data set lacks, e.g. ${absent.slice(0, 3).join(', ')}; `
      + 'it was made for other data (or another --limit)');
  }
  const rest = files.flatMap((file, i) => (held.has(patientOf(file)) ? [] : [i]));
  if (rest.length === 0) throw new UserError('--holdout holds out every patient of the data set: nothing is left to train on');
  const restFiles = rest.map((i) => files[i]);
  const restLabels = rest.map((i) => labels[i]);
  const holdout = [...heldOut].sort();
  if (opts.folds !== undefined && opts.fold !== undefined) {
    return { ...makeFoldSplit(restFiles, restLabels, { ...opts, folds: opts.folds, fold: opts.fold }), holdout };
  }
  const groups = opts.mode === 'patient' ? patientGroups(restFiles) : restFiles.map((_, i) => [i]);
  const [train, validation] = opts.fractions;
  const assignment = assignUnits(groups, restLabels, [train / (train + validation), validation / (train + validation)], mulberry32(opts.seed));
  const test = files.filter((file) => held.has(patientOf(file))).sort();
  const { train: trainFiles, validation: validationFiles } = toSplit(restFiles, groups, assignment, opts, (s) =>
    `the ${SPLIT_NAMES[s]} split is empty: the ${groups.length} ${opts.mode === 'patient' ? 'patients' : 'images'} outside --holdout cannot be split ${train}/${validation}; use more data`,
  (part) => part === 2);
  return { mode: opts.mode, seed: opts.seed, fractions: [...opts.fractions], train: trainFiles, validation: validationFiles, test, holdout };
}
