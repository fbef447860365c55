import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { UserError } from '../user-error';
import type { LoadedImages } from './load-dataset';
import { CLASS_NAMES } from './types';

/**
 * The columns `--exclude` and `--relabel` read from a CSV file (others are ignored): the image as
 * the data set names it (`Parasitized/<name>.png`) and, for `--relabel`, the class it should have.
 * A cross-validation's `label-issues.csv` has both, so it can be edited and fed back as it is.
 */
export const EDIT_COLUMNS = { file: 'file', newLabel: 'new_label' } as const;

/** One image named by an edit file, with where it was named, for messages. */
interface Edit {
  readonly file: string;
  /** `--relabel labels.csv line 7`. */
  readonly where: string;
}

/** What `--exclude` and `--relabel` change in the data set, read and checked before any image is. */
export interface LabelEdits {
  readonly exclude: ReadonlyMap<string, Edit>;
  /** File to its new label (1 = Parasitized). */
  readonly relabel: ReadonlyMap<string, Edit & { readonly label: number }>;
}

/** Reads `--exclude` and `--relabel`; undefined when neither is given. Every problem is a UserError naming the file, the line and the fix. */
export function readLabelEdits(options: { readonly exclude?: string; readonly relabel?: string }): LabelEdits | undefined {
  if (options.exclude === undefined && options.relabel === undefined) return undefined;
  const exclude = new Map<string, Edit>();
  for (const row of options.exclude === undefined ? [] : readRows('--exclude', options.exclude, [EDIT_COLUMNS.file])) {
    exclude.set(row.file, row);
  }
  const relabel = new Map<string, Edit & { label: number }>();
  for (const row of options.relabel === undefined ? [] : readRows('--relabel', options.relabel, [EDIT_COLUMNS.file, EDIT_COLUMNS.newLabel])) {
    const excluded = exclude.get(row.file);
    if (excluded) throw new UserError(`${row.where}: ${row.file} is also excluded (${excluded.where}); an image is either excluded or relabelled, remove one of the two lines`);
    relabel.set(row.file, { ...row, label: classOf(row.values[EDIT_COLUMNS.newLabel], row.where) });
  }
  return { exclude, relabel };
}

interface Row extends Edit {
  readonly values: Readonly<Record<string, string>>;
}

function readRows(flag: string, path: string, required: readonly string[]): Row[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a folder, not a file' : code ?? (error as Error).message;
    throw new UserError(`${flag} ${path}: ${why}; give a CSV file with a ${EDIT_COLUMNS.file} column (such as a cross-validation's label-issues.csv)`);
  }
  let records: { record: Record<string, string>; info: { lines: number } }[];
  try {
    records = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: true });
  } catch (error) {
    const line = (error as { lines?: number }).lines;
    throw new UserError(`${flag} ${path}${line ? ` line ${line}` : ''}: not a CSV file this trainer can read (${(error as Error).message}); `
      + 'save it as comma-separated values, with the column names on the first line');
  }
  const columns = records.length ? Object.keys(records[0].record) : firstLineColumns(text);
  const missing = required.filter((column) => !columns.includes(column));
  if (missing.length) {
    throw new UserError(`${flag} ${path} line 1: no ${missing.map((c) => `"${c}"`).join(' or ')} column (it has ${columns.map((c) => `"${c}"`).join(', ') || 'none'}); `
      + `the first line names the columns, e.g. ${required.join(',')}`);
  }
  if (records.length === 0) throw new UserError(`${flag} ${path}: lists no images; add a line per image under the column names, or drop ${flag}`);
  const seen = new Map<string, string>();
  return records.map(({ record, info }) => {
    const where = `${flag} ${path} line ${info.lines}`;
    const file = (record[EDIT_COLUMNS.file] ?? '').replace(/\\/g, '/');
    if (!file) throw new UserError(`${where}: the ${EDIT_COLUMNS.file} column is empty; write the image as the data set names it, e.g. Parasitized/C33P1thinF_IMG_20150619_114756a_cell_179.png`);
    const earlier = seen.get(file);
    if (earlier) throw new UserError(`${where}: ${file} is listed again (first on line ${earlier}); keep one line per image`);
    seen.set(file, String(info.lines));
    return { file, where, values: record };
  });
}

function firstLineColumns(text: string): string[] {
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/)[0] ?? '';
  return first.split(',').map((c) => c.trim()).filter(Boolean);
}

/** A class by name (any letter case) or number: `Parasitized`, `uninfected`, `1`. */
function classOf(value: string | undefined, where: string): number {
  const text = (value ?? '').trim();
  const byName = CLASS_NAMES.findIndex((name) => name.toLowerCase() === text.toLowerCase());
  if (byName >= 0) return byName;
  if (text === '0' || text === '1') return Number(text);
  throw new UserError(`${where}: ${EDIT_COLUMNS.newLabel} ${text ? `"${text}" is not a class` : 'is empty'}; write ${CLASS_NAMES[1]} or ${CLASS_NAMES[0]}`
    + `${text ? '' : ', or delete the line to keep the image\'s label'}`);
}

/**
 * The images with the edits applied: excluded ones removed (the pixel buffer compacted in place),
 * relabelled ones given their new label. The digest folds the edits in, so a run's `dataset_digest`
 * says which labels it trained on. An edit naming an image the data set lacks is an error.
 */
export function applyLabelEdits(loaded: LoadedImages, edits: LabelEdits): LoadedImages {
  const { images } = loaded;
  const index = new Map(images.files.map((file, i) => [file, i]));
  for (const edit of [...edits.exclude.values(), ...edits.relabel.values()]) {
    if (!index.has(edit.file)) {
      throw new UserError(`${edit.where}: ${edit.file} is not in the data set (${loaded.source}, ${images.files.length} images); `
        + 'check --data (and --limit, which reads only some images), or remove the line');
    }
  }
  const bytes = images.size * images.size * 3;
  const files: string[] = [];
  const labels = new Uint8Array(images.files.length - edits.exclude.size);
  images.files.forEach((file, i) => {
    if (edits.exclude.has(file)) return;
    const k = files.length;
    if (k !== i) images.pixels.copyWithin(k * bytes, i * bytes, (i + 1) * bytes);
    files.push(file);
    labels[k] = edits.relabel.get(file)?.label ?? images.labels[i];
  });
  return {
    ...loaded,
    images: { size: images.size, pixels: images.pixels.subarray(0, files.length * bytes), labels, files },
    digest: createHash('sha256').update(`${loaded.digest}\n${editsDigest(edits)}`).digest('hex'),
  };
}

/** The edits in a canonical order, hashed: the same edits from differently ordered files give the same digest. */
function editsDigest(edits: LabelEdits): string {
  const lines = [
    ...[...edits.exclude.keys()].sort().map((file) => `exclude\t${file}`),
    ...[...edits.relabel.values()].map((e) => `relabel\t${e.file}\t${CLASS_NAMES[e.label]}`).sort(),
  ];
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** `3 images excluded, 12 relabelled`, for the log. */
export function describeLabelEdits(edits: LabelEdits): string {
  return `${edits.exclude.size} image${edits.exclude.size === 1 ? '' : 's'} excluded (--exclude), ${edits.relabel.size} relabelled (--relabel)`;
}
