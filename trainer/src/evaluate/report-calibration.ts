import { CLASS_NAMES } from '../data/types';
import type { Calibration, CalibrationBin } from './calibration';
import { escapeHtml, formatMetric, formatPercent } from './html';
import { wilsonInterval } from './intervals';

/** A run of neighbouring probability bins where the model is wrong about its own certainty, the same way. */
export interface CalibrationFinding {
  /** Over-confident: surer than the test cells bear out, of the class it leans to; under-confident: less sure. */
  readonly verdict: 'over' | 'under';
  /** The predicted P(positive) the bins span. */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean predicted P(positive) of their cells, and the share of those that are positive. */
  readonly predicted: number;
  readonly observed: number;
}

/**
 * Where the reliability diagram says the model is over- or under-confident: the bins whose mean
 * prediction lies outside the 95% Wilson interval of their observed share (a few cells cannot
 * show a gap), neighbours joined while the verdict holds. Below the diagonal means too few positives for what
 * was predicted: over-confidence above 0.5, where the model leans to positive, and
 * under-confidence below it, where it leans to negative; above the diagonal the reverse.
 */
export function calibrationFindings(bins: readonly CalibrationBin[]): CalibrationFinding[] {
  const findings: CalibrationFinding[] = [];
  let open: { verdict: CalibrationFinding['verdict']; bins: CalibrationBin[] } | undefined;
  const close = () => {
    if (!open) return;
    const count = open.bins.reduce((sum, bin) => sum + bin.count, 0);
    const mean = (pick: (bin: CalibrationBin) => number) => open!.bins.reduce((sum, bin) => sum + pick(bin) * bin.count, 0) / count;
    findings.push({
      verdict: open.verdict, lower: open.bins[0].lower, upper: open.bins.at(-1)!.upper, count,
      predicted: mean((bin) => bin.meanPredicted), observed: mean((bin) => bin.observed),
    });
    open = undefined;
  };
  for (const bin of bins) {
    const verdict = bin.count ? verdictOf(bin) : undefined;
    if (verdict !== open?.verdict) close();
    if (verdict) (open ??= { verdict, bins: [] }).bins.push(bin);
  }
  close();
  return findings;
}

function verdictOf(bin: CalibrationBin): CalibrationFinding['verdict'] | undefined {
  const interval = wilsonInterval(Math.round(bin.observed * bin.count), bin.count);
  if (!interval || (bin.meanPredicted >= interval.low && bin.meanPredicted <= interval.high)) return undefined;
  const tooFewPositives = bin.observed < bin.meanPredicted;
  return tooFewPositives === bin.meanPredicted >= 0.5 ? 'over' : 'under';
}

/** The calibration section's text: how to read the diagram, and what it says about this model, in words. */
export function calibrationText(calibration: Calibration): string {
  const [negative, positive] = CLASS_NAMES;
  const findings = calibrationFindings(calibration.bins);
  const reading = `How to read it: a point below the diagonal means fewer ${positive} cells than predicted. Above 0.5, where
the model leans to ${positive}, that is over-confidence; below 0.5, where it leans to ${negative}, it is under-confidence
(the cells are even less often ${positive} than it says). Above the diagonal it is the reverse.`;
  const said = findings.length
    ? `<ul>${findings.map((f) => `<li>${findingText(f)}</li>`).join('')}</ul>`
    : `<p>Every bin's share of ${positive} cells agrees with what the model predicts for it, within the bin's 95% interval:
the test cells show no over- or under-confidence.</p>`;
  return `<p class="note">${escapeHtml(reading)}</p>${said}
<p class="note">Brier score ${formatMetric(calibration.brier)} (mean squared error of the probability; 0 is perfect, 0.25 is
always saying 0.5); expected calibration error ${formatMetric(calibration.ece)} (the gap between predicted and observed,
averaged over images). Right: how each true class's probabilities spread, with the threshold dashed.</p>`;
}

function findingText(f: CalibrationFinding): string {
  const [negative, positive] = CLASS_NAMES;
  const leans = f.predicted >= 0.5 ? positive : negative;
  const range = `${f.lower.toFixed(1)} to ${f.upper.toFixed(1)}`;
  const what = f.verdict === 'over'
    ? `surer than it should be that they are ${leans}`
    : `it could be surer that they are ${leans}`;
  return `<strong>${f.verdict === 'over' ? 'Over' : 'Under'}-confident</strong> where it says ${range} (${f.count} cells): `
    + `it gives them ${formatMetric(f.predicted)} on average, and ${formatPercent(f.observed)} are ${escapeHtml(positive)}: ${escapeHtml(what)}.`;
}
