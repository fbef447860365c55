/**
 * Cells a data set knows to be filed under the wrong class: `known-label-errors.txt` beside the
 * class folders, one image per line as its path inside the data set (`Parasitized/<file>.png`), `#`
 * starting a comment. The synthetic generator writes one for the cells it mislabels on purpose; a
 * folder or zip of real cells can carry one too (from a relabelling study, say). The training does
 * not change for it: the report marks those cells, so a reader can tell the model's errors from
 * the labels'.
 */
export const LABEL_ERRORS_FILE = 'known-label-errors.txt';

/** The file's text: `header` as comment lines, then the paths, sorted. */
export function formatLabelErrors(files: readonly string[], header: string): string {
  const comments = header.split('\n').map((line) => `# ${line}`);
  return `${[...comments, ...[...files].sort()].join('\n')}\n`;
}

/** The paths the file lists (comments and blank lines skipped, `\` separators turned into `/`). */
export function parseLabelErrors(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.replace(/#.*/, '').trim().replace(/\\/g, '/')).filter(Boolean);
}
