import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyLabelEdits, readLabelEdits } from '../../../trainer/src/data/label-edits';
import type { LoadedImages } from '../../../trainer/src/data/load-dataset';
import { UserError } from '../../../trainer/src/user-error';
import { labelIssuesCsv } from '../../../trainer/src/sweep/label-review';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'label-edits-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function csv(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const FILES = ['Parasitized/P1_IMG_1_cell_0.png', 'Parasitized/P1_IMG_1_cell_1.png', 'Uninfected/P2_IMG_2_cell_0.png', 'Uninfected/P2_IMG_2_cell_1.png'];

/** Four 1x1 images whose single pixel is their index, so a test sees which pixels moved where. */
function loaded(): LoadedImages {
  return {
    images: { size: 1, pixels: Uint8Array.from(FILES.flatMap((_, i) => [i, i, i])), labels: Uint8Array.from([1, 1, 0, 0]), files: [...FILES] },
    skipped: { notPng: 0, unreadable: [] },
    knownLabelErrors: [],
    digest: 'abc',
    source: 'cells.zip',
  };
}

test('no --exclude and no --relabel: nothing to edit', () => {
  expect(readLabelEdits({})).toBeUndefined();
});

test('--relabel changes labels and --exclude drops images; the digest says which labels the run trained on', async () => {
  const relabel = await csv('relabel.csv', `file,new_label\n${FILES[1]},Uninfected\n${FILES[2]},parasitized\n`);
  const exclude = await csv('exclude.csv', `file,why\n${FILES[3]},blurred\n`);
  const edits = readLabelEdits({ relabel, exclude })!;
  const edited = applyLabelEdits(loaded(), edits);
  expect(edited.images.files).toEqual(FILES.slice(0, 3));
  expect(Array.from(edited.images.labels)).toEqual([1, 0, 1]);
  expect(Array.from(edited.images.pixels)).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2]);
  expect(edited.digest).not.toBe('abc');
  // The same edits listed in another order (and read again) give the same digest.
  const reordered = await csv('relabel-reordered.csv', `new_label,file\r\nParasitized,${FILES[2]}\r\n0,${FILES[1]}\r\n`);
  expect(applyLabelEdits(loaded(), readLabelEdits({ relabel: reordered, exclude })!).digest).toBe(edited.digest);
});

test('a cross-validation\'s label-issues.csv feeds back as it is: new_label holds the other class', async () => {
  const path = await csv('label-issues.csv', labelIssuesCsv([
    { rank: 1, file: FILES[0], patient: 'P1', label: 1, probability: 0.02, fold: 'fold-2' },
    { rank: 2, file: FILES[3], patient: 'P2', label: 0, probability: 0.97, fold: 'fold-1' },
  ]));
  const relabelled = applyLabelEdits(loaded(), readLabelEdits({ relabel: path })!);
  expect(Array.from(relabelled.images.labels)).toEqual([0, 1, 0, 1]);
  const excluded = applyLabelEdits(loaded(), readLabelEdits({ exclude: path })!);
  expect(excluded.images.files).toEqual([FILES[1], FILES[2]]);
});

describe('a bad edit file is refused naming the file, the line and the fix', () => {
  test.each([
    ['a label that is no class', `file,new_label\n${FILES[0]},Uninfected\n${FILES[1]},Parasitised\n`,
      /--relabel .*bad\.csv line 3: new_label "Parasitised" is not a class; write Parasitized or Uninfected/],
    ['an empty label', `file,new_label\n${FILES[0]},\n`, /line 2: new_label is empty; write Parasitized or Uninfected, or delete the line/],
    ['no new_label column', `file,label\n${FILES[0]},Uninfected\n`, /line 1: no "new_label" column \(it has "file", "label"\); the first line names the columns, e\.g\. file,new_label/],
    ['an image listed twice', `file,new_label\n${FILES[0]},Uninfected\n${FILES[0]},Parasitized\n`, /line 3: .* is listed again \(first on line 2\); keep one line per image/],
    ['an empty file cell', 'file,new_label\n,Uninfected\n', /line 2: the file column is empty; write the image as the data set names it/],
    ['a broken quote', `file,new_label\n"${FILES[0]},Uninfected\n`, /--relabel .*bad\.csv.*: not a CSV file this trainer can read/],
    ['no lines under the header', 'file,new_label\n', /lists no images; add a line per image under the column names, or drop --relabel/],
  ])('%s', async (_name, text, message) => {
    const relabel = await csv('bad.csv', text);
    expect(() => readLabelEdits({ relabel })).toThrow(UserError);
    expect(() => readLabelEdits({ relabel })).toThrow(message);
  });

  test('a missing file', () => {
    expect(() => readLabelEdits({ exclude: join(dir, 'nope.csv') })).toThrow(/--exclude .*nope\.csv: no such file; give a CSV file with a file column/);
  });

  test('an image both excluded and relabelled', async () => {
    const exclude = await csv('x.csv', `file\n${FILES[0]}\n`);
    const relabel = await csv('r.csv', `file,new_label\n${FILES[0]},Uninfected\n`);
    expect(() => readLabelEdits({ exclude, relabel })).toThrow(/--relabel .*r\.csv line 2: .* is also excluded \(--exclude .*x\.csv line 2\)/);
  });

  test('an image the data set lacks', async () => {
    const relabel = await csv('missing.csv', `file,new_label\n${FILES[0]},Uninfected\nParasitized/other.png,Uninfected\n`);
    expect(() => applyLabelEdits(loaded(), readLabelEdits({ relabel })!))
      .toThrow(/--relabel .*missing\.csv line 3: Parasitized\/other\.png is not in the data set \(cells\.zip, 4 images\); check --data .* or remove the line/);
  });
});
