import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig } from '../../../trainer/src/config';
import { checkFolds } from '../../../trainer/src/sweep/cross-validation';
import { UserError } from '../../../trainer/src/user-error';

/**
 * The folds are planned from file names alone: the data sets here are folders of empty files named
 * as the NIH cells are (`<patient>_IMG_...png`), two of each class per patient.
 */
let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'folds-'));
});
afterAll(() => rm(work, { recursive: true, force: true }));

async function cells(patients: number): Promise<string> {
  const dir = join(work, `patients-${patients}`);
  for (const [label, cls] of ['Parasitized', 'Uninfected'].entries()) {
    await mkdir(join(dir, cls), { recursive: true });
    for (let p = 0; p < patients; p++) {
      for (const k of [1, 2]) await writeFile(join(dir, cls, `P${p}_IMG_${label}_cell_${k}.png`), '');
    }
  }
  return dir;
}

const config = async (patients: number, cv: number) => parseTrainConfig({ data: await cells(patients), cv });

test('--cv 20 on 50 patients: warned that each fold is tested on 2 or 3 of them, with the folds that would not be', async () => {
  const said: string[] = [];
  await checkFolds(await config(50, 20), (line) => said.push(line));
  expect(said).toEqual([expect.stringMatching(/^warning: --cv 20: 50 patients make folds of [1-3] to [2-4] patients; each fold is tested on so few that its figures swing widely and their mean says little\. --cv 10 tests each fold on 5 or more\.$/)]);
});

test('folds of 5 patients or more pass without a word', async () => {
  const said: string[] = [];
  await checkFolds(await config(50, 5), (line) => said.push(line));
  expect(said).toEqual([]);
});

test('--cv 12 with 10 patients: refused from the file names, before anything is trained', async () => {
  const check = checkFolds(await config(10, 12), () => undefined);
  await expect(check).rejects.toBeInstanceOf(UserError);
  await expect(check).rejects.toThrow('--cv 12: 10 patients are too few for 12 folds with a validation set each; use fewer folds or more data');
});
