import { escapeHtml, formatDuration, formatMetric, htmlTable } from '../evaluate/html';
import type { RunSummary } from './run-summary';

/**
 * The original study's `convolutions` parameter for its networks: the number of conv blocks of its
 * CNNs, 0 for VGG16. Undefined for models the study did not have.
 */
export function studyConvolutions(model: string | undefined): number | undefined {
  if (model === 'vgg16') return 0;
  const match = /^cnn-([1-4])$/.exec(model ?? '');
  return match ? Number(match[1]) : undefined;
}

/** Whether a comparison is of the study's networks only, and so gets its table first. */
export function isStudyComparison(runs: readonly RunSummary[]): boolean {
  return runs.length > 0 && runs.every((run) => studyConvolutions(run.params.model) !== undefined);
}

/**
 * The comparison laid out as the original study's MLflow table (run, duration, training and
 * validation accuracy, validation precision and recall, batch size, convolutions, epochs), then what
 * that table lacked: test figures with 95% intervals on patients no run trained on, and cost.
 * The study logged its last epoch; these runs keep their best epoch on validation loss, so the
 * training and validation accuracies are that epoch's (`best_epoch`, else the last).
 */
export function studyTableSection(runs: readonly RunSummary[]): string {
  const hasCost = runs.some((r) => r.metrics['system/cost_usd'] !== undefined);
  const headers = ['Run Name', 'Duration', 'accuracy', 'val_accuracy', 'val_precision', 'val_recall', 'batch_size', 'convolutions', 'epochs',
    'Test accuracy (95% CI)', 'Test AUC (95% CI)', 'Test patients', ...(hasCost ? ['Cost'] : [])];
  const ordered = [...runs].sort((a, b) => (studyConvolutions(b.params.model) ?? 0) - (studyConvolutions(a.params.model) ?? 0));
  const rows = ordered.map((run) => {
    const m = run.metrics;
    const kept = run.history.find((r) => r.epoch === m.best_epoch) ?? run.history.at(-1);
    const metric = (value: number | undefined) => (value === undefined ? '' : formatMetric(value));
    return [
      `${run.params.model === 'vgg16' ? 'VGG16' : `${run.params.model} (3x3kernel)`}${run.status === 'FINISHED' ? '' : ` (${run.status})`}`,
      run.durationSeconds === undefined ? '' : formatDuration(run.durationSeconds),
      metric(kept?.accuracy), metric(kept?.val_accuracy), metric(m.val_precision_at_threshold), metric(m.val_recall_at_threshold),
      run.params.batchSize ?? '', String(studyConvolutions(run.params.model) ?? ''), String(run.history.length),
      interval(m, 'test_accuracy'), interval(m, 'test_auc'), m.test_patients === undefined ? '' : String(m.test_patients),
      ...(hasCost ? [m['system/cost_usd'] === undefined ? '' : `$${m['system/cost_usd'].toFixed(2)}`] : []),
    ];
  });
  const splits = [...new Set(runs.map((r) => r.params.split ?? 'patient'))];
  return `<h2>As the original study's table</h2>
<p class="note">The columns of the study's MLflow runs table (run names as it named them; <code>convolutions</code> = conv blocks, 0 for VGG16), `
    + `then what it lacked. Its "validation" was half of the cells, split at random, so the same patients sat on both sides; here validation and `
    + `test are split by ${escapeHtml(splits.join(', '))}, and the test figures come from patients none of these models trained or was tuned on. `
    + 'Accuracies are of the epoch whose weights were kept (the best on validation loss; the study kept its last).</p>'
    + `<div class="scroll">${htmlTable(headers, rows)}</div>`;
}

function interval(metrics: Readonly<Record<string, number>>, key: string): string {
  const value = metrics[key];
  if (value === undefined) return '';
  const [low, high] = [metrics[`${key}_ci_low`], metrics[`${key}_ci_high`]];
  return low === undefined || high === undefined ? formatMetric(value) : `${formatMetric(value)} (${formatMetric(low)}-${formatMetric(high)})`;
}
