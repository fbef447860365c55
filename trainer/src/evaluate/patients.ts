import { patientOf } from '../data/split';
import { checkInputs } from './metrics';

/** How one test patient's cells fared at the threshold. */
export interface PatientResult {
  readonly patient: string;
  readonly images: number;
  /** Images per class, indexed by label: [negatives, positives]. */
  readonly byClass: readonly [number, number];
  /** Positives labelled negative: missed parasites. */
  readonly falseNegatives: number;
  /** Negatives labelled positive. */
  readonly falsePositives: number;
  readonly accuracy: number;
}

/** Accuracy and errors per patient, the worst first (lowest accuracy, then most errors, then name). */
export function perPatient(
  labels: ArrayLike<number>, probs: ArrayLike<number>, patients: readonly string[], threshold: number,
): PatientResult[] {
  checkInputs(labels, probs);
  if (patients.length !== labels.length) throw new RangeError(`${labels.length} labels but ${patients.length} patient ids`);
  const tally = new Map<string, { byClass: [number, number]; fn: number; fp: number }>();
  for (let i = 0; i < labels.length; i++) {
    let entry = tally.get(patients[i]);
    if (!entry) tally.set(patients[i], (entry = { byClass: [0, 0], fn: 0, fp: 0 }));
    entry.byClass[labels[i]]++;
    const predicted = probs[i] >= threshold ? 1 : 0;
    if (predicted !== labels[i]) {
      if (labels[i] === 1) entry.fn++;
      else entry.fp++;
    }
  }
  const rows = [...tally].map(([patient, { byClass, fn, fp }]) => {
    const images = byClass[0] + byClass[1];
    return { patient, images, byClass, falseNegatives: fn, falsePositives: fp, accuracy: (images - fn - fp) / images };
  });
  return rows.sort((a, b) => a.accuracy - b.accuracy
    || (b.falseNegatives + b.falsePositives) - (a.falseNegatives + a.falsePositives)
    || (a.patient < b.patient ? -1 : a.patient > b.patient ? 1 : 0));
}

/** What one split holds: images and patients per class (a patient counts for each class it has cells of). */
export interface SplitComposition {
  /** Indexed by label: [negatives, positives]. */
  readonly images: readonly [number, number];
  readonly patients: readonly [number, number];
  /** Distinct patients in the split. */
  readonly patientCount: number;
}

export function splitComposition(labels: ArrayLike<number>, files: readonly string[]): SplitComposition {
  if (files.length !== labels.length) throw new RangeError(`${labels.length} labels but ${files.length} files`);
  const images: [number, number] = [0, 0];
  const patientsOf = [new Set<string>(), new Set<string>()];
  const all = new Set<string>();
  for (let i = 0; i < labels.length; i++) {
    const patient = patientOf(files[i]);
    images[labels[i]]++;
    patientsOf[labels[i]].add(patient);
    all.add(patient);
  }
  return { images, patients: [patientsOf[0].size, patientsOf[1].size], patientCount: all.size };
}
