import { LABEL_ERRORS_FILE } from '../data/label-errors';
import { CLASS_NAMES } from '../data/types';
import { escapeHtml, formatMetric, formatPercent, htmlTable } from './html';
import type { Joint, KnownErrorCheck, LabelIssues } from './label-issues';

/** A flagged cell as the report and label-issues.csv show it. */
export interface SuspectCell {
  /** 1 = the most suspicious. */
  readonly rank: number;
  readonly file: string;
  readonly patient: string;
  /** The label the set gives it: 1 = Parasitized. */
  readonly label: number;
  /** Out-of-fold P(Parasitized). */
  readonly probability: number;
  /** The fold whose model scored it (and never trained on it). */
  readonly fold: string;
  /** The cell as the models saw it; absent past the gallery's length, or when the images could not be read again. */
  readonly png?: Buffer;
}

/** Everything the cross-validation report's section on label errors shows. */
export interface LabelReview {
  readonly issues: LabelIssues;
  /** The flagged cells, most suspicious first. */
  readonly suspects: readonly SuspectCell[];
  /** label-issues.csv, relative to the report. */
  readonly csv: string;
  readonly folds: { readonly scored: number; readonly total: number };
  /** Against the cells the data set lists as mislabelled (LABEL_ERRORS_FILE; the demo's data lists the ones it planted). */
  readonly planted?: KnownErrorCheck & { readonly source: string };
  /** Why the gallery has no thumbnails, when it has none. */
  readonly thumbnailsMissing?: string;
}

/** The section: what the method estimates and how, the flagged cells as a gallery, and how to feed an edited list back. */
export function labelIssuesSection(review: LabelReview): string {
  const { issues, suspects } = review;
  const [negative, positive] = CLASS_NAMES;
  const cal = issues.calibratedJoint;
  const shown = suspects.filter((cell) => cell.png);
  const folds = review.folds.scored < review.folds.total
    ? ` (${review.folds.scored} of the ${review.folds.total} folds finished: the cells of the others are not judged)` : '';
  return `<h2>Suspected label errors</h2>
<p>Every cell below was scored once, by the fold model that never trained on it${folds}. From these out-of-fold probabilities,
<strong>confident learning</strong> (Northcutt, Jiang &amp; Chuang 2021, <i>Confident Learning: Estimating Uncertainty in Dataset
Labels</i>, JAIR 70; computed as cleanlab 2 does) estimates that <strong>${issues.estimated} of the ${issues.count} labels
(${formatPercent(issues.estimated / issues.count)}) are wrong</strong>: ${cal[1][0]} cells labelled ${positive} look ${negative},
and ${cal[0][1]} labelled ${negative} look ${positive}. It flags <strong>${issues.flagged.length}</strong> cells, shown below most
suspicious first and listed in <a href="${escapeHtml(review.csv)}">${escapeHtml(review.csv)}</a>. They are suspicions for a person to
look at, not verdicts: a faint parasite the models miss looks the same as a wrong label.</p>
${review.planted ? plantedCheck(review.planted) : ''}
<h3>How it is computed</h3>
<ol class="note">
<li>Per-class thresholds, each class's mean self-confidence: a cell is confidently ${negative} when its P(${negative}) &ge;
${formatMetric(issues.thresholds[0])} (the mean P(${negative}) of the cells labelled ${negative}), confidently ${positive} when
P(${positive}) &ge; ${formatMetric(issues.thresholds[1])}.</li>
<li>The confident joint counts the confident cells by given label and the class they are confident of (the likelier one when
both); cells confident of neither are left out.</li>
<li>Calibrated: each row scaled to all the cells with that label. Its off-diagonal is the estimate above.</li>
<li>Flagged (pruning by noise rate): of each label's cells, as many as its off-diagonal count, those with the lowest
P(given label); less those the models agree with (P(given label) &ge; 0.5). Ranked by P(given label), lowest first.</li>
</ol>
<div class="plots">${jointTable('Confident joint', issues.confidentJoint)}${jointTable('Calibrated', issues.calibratedJoint)}</div>
<h3>The flagged cells, most suspicious first${shown.length < suspects.length ? ` (the first ${shown.length} of ${suspects.length})` : ''}</h3>
${suspectGrid(shown, review.thumbnailsMissing)}
<p>To train on corrected data: edit ${escapeHtml(review.csv)} (its <code>new_label</code> column holds the other class; delete
the lines you disagree with), then add <code>--relabel ${escapeHtml(review.csv)}</code> to the training command, or
<code>--exclude ${escapeHtml(review.csv)}</code> to leave those cells out. The run records the file as a parameter and folds the
edits into its <code>dataset_digest</code>.</p>`;
}

function jointTable(title: string, joint: Joint): string {
  const [negative, positive] = CLASS_NAMES;
  return `<div><p class="note">${escapeHtml(title)}</p>${htmlTable([`Given \\ looks`, negative, positive], [
    [negative, String(joint[0][0]), String(joint[0][1])],
    [positive, String(joint[1][0]), String(joint[1][1])],
  ])}</div>`;
}

function plantedCheck(check: KnownErrorCheck & { readonly source: string }): string {
  const rows = check.rows.map((row) => [
    row.what === 'flagged' ? `the ${row.k} flagged` : `the top ${row.k} of the ranking`,
    String(row.found), formatMetric(row.precision), formatMetric(row.recall),
  ]);
  return `<h3>Against the cells the data set lists as mislabelled</h3>
<p><code>${escapeHtml(check.source)}</code> lists ${check.known} of these cells as filed under the wrong class in its
<code>${LABEL_ERRORS_FILE}</code> (a synthetic set lists the wrong labels its generator planted).</p>
${htmlTable(['Cells', 'Listed errors among them', 'Precision', 'Recall'], rows)}`;
}

function suspectGrid(cells: readonly SuspectCell[], missing: string | undefined): string {
  if (missing) return `<p class="note">${escapeHtml(missing)}</p>`;
  if (cells.length === 0) return '<p class="note">None: the models agree with every label they were confident about.</p>';
  const figures = cells.map((cell) => {
    const name = cell.file.slice(cell.file.lastIndexOf('/') + 1);
    const own = cell.label === 1 ? cell.probability : 1 - cell.probability;
    return `<figure class="wrong"><img alt="${escapeHtml(cell.file)}" title="${escapeHtml(cell.file)}" src="data:image/png;base64,${cell.png!.toString('base64')}">`
      + `<figcaption><b>#${cell.rank} given ${escapeHtml(CLASS_NAMES[cell.label])}</b><br>P(${escapeHtml(CLASS_NAMES[1])}) ${formatMetric(cell.probability)}`
      + ` (P(given) ${formatMetric(own)}), ${escapeHtml(cell.fold)}<br>${escapeHtml(cell.patient)}<br>${escapeHtml(name)}</figcaption></figure>`;
  });
  return `<div class="cells">${figures.join('')}</div>`;
}
