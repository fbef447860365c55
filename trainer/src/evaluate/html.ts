const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Makes any text safe inside HTML elements and quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

export interface TableRow {
  readonly cells: readonly string[];
  readonly className?: string;
}

/** A table from plain-text cells (no header row when `headers` is empty): everything is escaped here, so callers never pass markup. */
export function htmlTable(headers: readonly string[], rows: readonly (readonly string[] | TableRow)[]): string {
  const head = headers.length ? `<thead><tr>${headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead>` : '';
  const body = rows
    .map((row) => {
      const { cells, className } = 'cells' in row ? row : { cells: row, className: undefined };
      const attr = className ? ` class="${escapeHtml(className)}"` : '';
      return `<tr${attr}>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table>${head}<tbody>\n${body}\n</tbody></table>`;
}

/** Fixed decimals for ordinary values, exponent form below 0.001 (learning rates), words for the non-finite. */
export function formatNumber(value: number, decimals = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Number.isInteger(value)) return String(value);
  if (Math.abs(value) < 1e-3) return value.toExponential(2);
  return value.toFixed(decimals);
}

/** Decimals of every metric the trainer shows (report, plots, log): a test set of a few thousand images does not support a fourth. */
export const METRIC_DECIMALS = 3;

/** A metric (accuracy, AUC, a threshold...) with the same precision everywhere. */
export function formatMetric(value: number): string {
  return Number.isFinite(value) ? value.toFixed(METRIC_DECIMALS) : formatNumber(value);
}

/**
 * Two values of one metric to set side by side (a new model against the champion): three decimals,
 * more only where three would show a real difference as a tie (0.9731 against 0.9729).
 */
export function formatMetricPair(a: number, b: number): [string, string] {
  if (!Number.isFinite(a) || !Number.isFinite(b)) return [formatMetric(a), formatMetric(b)];
  let decimals = METRIC_DECIMALS;
  while (a !== b && decimals < 10 && a.toFixed(decimals) === b.toFixed(decimals)) decimals++;
  return [a.toFixed(decimals), b.toFixed(decimals)];
}

/** A share as a percentage with one decimal, e.g. 0.8421 -> `84.2%`; the caller says what it is a share of. */
export function formatPercent(share: number): string {
  return Number.isFinite(share) ? `${(100 * share).toFixed(1)}%` : formatNumber(share);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return 'unknown';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  const h = Math.floor(whole / 3600);
  const min = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h} h ${String(min).padStart(2, '0')} min` : `${min} min ${String(s).padStart(2, '0')} s`;
}

/** `2026-11-25 20:31 UTC`: an ISO time as people read it. */
export function formatTime(iso: string): string {
  const time = new Date(iso);
  return Number.isNaN(time.getTime()) ? iso : `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
