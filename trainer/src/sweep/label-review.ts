import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { TrainConfig } from '../config';
import { EDIT_COLUMNS } from '../data/label-edits';
import { CLASS_NAMES } from '../data/types';
import { cellThumbnail } from '../evaluate/cell-thumbnail';
import { formatPercent } from '../evaluate/html';
import { checkAgainstKnownErrors, findLabelIssues, rankBySelfConfidence } from '../evaluate/label-issues';
import { labelIssuesSection, type LabelReview, type SuspectCell } from '../evaluate/label-issues-report';
import { readPredictions } from '../evaluate/predictions-file';
import { listTrainingImages, loadTrainingImages } from '../pipeline/training-images';

/** Beside the cross-validation's report: the flagged cells, ranked, in a form `--relabel` and `--exclude` read back. */
export const LABEL_ISSUES_FILE = 'label-issues.csv';
/** Flagged cells the report shows as thumbnails; the CSV lists them all. */
const GALLERY_CELLS = 48;

/** A finished fold: its name and run folder, which holds its test predictions. */
export interface ScoredFold {
  readonly name: string;
  readonly dir: string;
}

export interface LabelReviewResult {
  /** The report's section (HTML). */
  readonly section: string;
  /** For the group's MLflow run. */
  readonly metrics: Record<string, number>;
}

/**
 * Suspected label errors of a cross-validation: its folds' test predictions pooled (every cell scored
 * once, by a model that never trained on it), judged by confident learning; writes
 * `<folder>/label-issues.csv` and returns the report's section. When the data set lists cells it
 * knows are mislabelled (LABEL_ERRORS_FILE; the synthetic sets list the ones they plant), the
 * ranking is also checked against them. Undefined when no fold left predictions.
 */
export async function reviewLabels(
  folder: string, folds: readonly ScoredFold[], config: TrainConfig, log: (line: string) => void,
): Promise<LabelReviewResult | undefined> {
  const scored = (await Promise.all(folds.map(async (fold) => ({ fold, predictions: await readPredictions(fold.dir) }))))
    .filter((f) => f.predictions);
  if (scored.length === 0) return undefined;
  const files = scored.flatMap((f) => f.predictions!.files);
  const patients = scored.flatMap((f) => f.predictions!.patients);
  const labels = scored.flatMap((f) => Array.from(f.predictions!.labels));
  const probs = scored.flatMap((f) => Array.from(f.predictions!.probs));
  const foldOf = scored.flatMap((f) => f.predictions!.files.map(() => f.fold.name));

  const issues = findLabelIssues(labels, probs);
  const suspects: SuspectCell[] = issues.flagged.map((i, r) => ({
    rank: r + 1, file: files[i], patient: patients[i], label: labels[i], probability: probs[i], fold: foldOf[i],
  }));
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, LABEL_ISSUES_FILE), labelIssuesCsv(suspects));
  const { cells, missing } = await withThumbnails(suspects, config, log);

  // The cells the data set itself lists as mislabelled (the synthetic sets list the ones they plant).
  const listed = (await listTrainingImages(config))?.knownLabelErrors ?? [];
  const wrong = new Set(listed);
  const known = new Set(files.flatMap((file, i) => (wrong.has(file) ? [i] : [])));
  const planted = listed.length === 0 ? undefined : {
    source: config.data,
    ...checkAgainstKnownErrors(issues.flagged, rankBySelfConfidence(issues), known, [10, 25, known.size, 2 * known.size]),
  };
  const review: LabelReview = {
    issues, suspects: cells, csv: LABEL_ISSUES_FILE, folds: { scored: scored.length, total: folds.length }, planted, thumbnailsMissing: missing,
  };
  log(`label issues: confident learning estimates ${issues.estimated} of ${issues.count} labels (${formatPercent(issues.estimated / issues.count)}) wrong; `
    + `${issues.flagged.length} flagged in ${join(folder, LABEL_ISSUES_FILE)}`
    + (planted ? `; ${planted.rows[0].found} of them among the ${known.size} planted` : ''));
  const metrics: Record<string, number> = {
    label_issues_estimated: issues.estimated,
    label_error_rate_estimated: issues.estimated / issues.count,
    label_issues_flagged: issues.flagged.length,
  };
  if (planted) {
    metrics.label_issues_planted_precision = planted.rows[0].precision;
    metrics.label_issues_planted_recall = planted.rows[0].recall;
  }
  return { section: labelIssuesSection(review), metrics };
}

/** One line per flagged cell, most suspicious first; `new_label` is the other class, ready for `--relabel`. */
export function labelIssuesCsv(suspects: readonly SuspectCell[]): string {
  return stringify([
    ['rank', EDIT_COLUMNS.file, 'patient', 'given_label', 'p_parasitized', 'p_given_label', 'fold', EDIT_COLUMNS.newLabel],
    ...suspects.map((s) => [
      s.rank, s.file, s.patient, CLASS_NAMES[s.label], s.probability.toFixed(4),
      (s.label === 1 ? s.probability : 1 - s.probability).toFixed(4), s.fold, CLASS_NAMES[1 - s.label],
    ]),
  ]);
}

/** The gallery's cells with their images, read again from the data (only those few); the report says so when they cannot be. */
async function withThumbnails(
  suspects: readonly SuspectCell[], config: TrainConfig, log: (line: string) => void,
): Promise<{ cells: SuspectCell[]; missing?: string }> {
  const shown = suspects.slice(0, GALLERY_CELLS);
  if (shown.length === 0) return { cells: [...suspects] };
  try {
    const wanted = new Set(shown.map((cell) => cell.file));
    const { images } = await loadTrainingImages({ ...config, limit: undefined }, log, () => wanted);
    const index = new Map(images.files.map((file, i) => [file, i]));
    const pngs = await Promise.all(shown.map((cell) => (index.has(cell.file) ? cellThumbnail(images, index.get(cell.file)!) : undefined)));
    return { cells: suspects.map((cell, i) => (pngs[i] ? { ...cell, png: pngs[i] } : cell)) };
  } catch (error) {
    const why = `The cells could not be read again from ${config.data} for their thumbnails (${(error as Error).message}); label-issues.csv lists them.`;
    log(`warning: ${why}`);
    return { cells: [...suspects], missing: why };
  }
}
