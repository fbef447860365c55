import { calibration } from '../../../trainer/src/evaluate/calibration';
import { calibrationFindings } from '../../../trainer/src/evaluate/report-calibration';

/** `count` cells predicted `p`, of which `positives` are positive. */
const cells = (count: number, p: number, positives: number) => ({
  labels: Array.from({ length: count }, (_, i) => (i < positives ? 1 : 0)),
  probs: Array.from({ length: count }, () => p),
});
const join = (...parts: { labels: number[]; probs: number[] }[]) => calibration(parts.flatMap((c) => c.labels), parts.flatMap((c) => c.probs)).bins;

test('a calibrated model has no findings', () => {
  expect(calibrationFindings(join(cells(100, 0.1, 10), cells(100, 0.9, 90)))).toEqual([]);
});

test('below the diagonal is over-confidence above 0.5 and under-confidence below it; above the diagonal the reverse', () => {
  const findings = calibrationFindings(join(cells(100, 0.95, 60), cells(100, 0.25, 2), cells(100, 0.65, 99), cells(100, 0.05, 40)));
  expect(findings.map((f) => [f.lower, f.verdict])).toEqual([[0, 'over'], [0.2, 'under'], [0.6, 'under'], [0.9, 'over']]);
  expect(findings[3]).toMatchObject({ count: 100, observed: 0.6 });
  expect(findings[3].predicted).toBeCloseTo(0.95);
});

test('neighbouring bins with the same verdict are one finding; a few cells cannot show a gap', () => {
  const findings = calibrationFindings(join(cells(50, 0.15, 0), cells(50, 0.25, 0), cells(3, 0.85, 2)));
  expect(findings).toHaveLength(1);
  expect(findings[0]).toMatchObject({ verdict: 'under', lower: 0.1, upper: 0.3, count: 100, observed: 0 });
  expect(findings[0].predicted).toBeCloseTo(0.2);
});
