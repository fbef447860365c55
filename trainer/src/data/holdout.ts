import { readFileSync } from 'node:fs';
import { UserError } from '../user-error';
import { patientOf, readSplit } from './split';

/**
 * The patients `--holdout` keeps out of training and tuning: a text file with one patient per line
 * (`#` starts a comment), or a split.json, whose test split's patients are taken.
 */
export function readHoldout(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : code === 'EACCES' ? 'permission denied' : code ?? (err as Error).message;
    throw new UserError(`--holdout ${path}: ${why}; give a text file of patient ids, one per line, or a split.json`);
  }
  const patients = text.trimStart().startsWith('{')
    ? readSplit(path).test.map(patientOf)
    : text.split('\n').map((line) => line.replace(/#.*/, '').trim()).filter(Boolean);
  const unique = [...new Set(patients)].sort();
  if (unique.length === 0) throw new UserError(`--holdout ${path} names no patients; write one patient id (the file-name text before _IMG_) per line`);
  return unique;
}
