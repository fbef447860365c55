import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The test predictions of a run, one row per image: what comparisons pool and draw curves from. */
export interface TestPredictions {
  readonly files: readonly string[];
  readonly patients: readonly string[];
  readonly labels: ArrayLike<number>;
  readonly probs: ArrayLike<number>;
}

/** One JSON object per line (`pandas.read_json(path, lines=True)` reads it): file, patient, label (1 = Parasitized), probability of Parasitized. */
export const PREDICTIONS_FILE = 'test-predictions.jsonl';

export async function writePredictions(runDir: string, p: TestPredictions): Promise<void> {
  const rows = p.files.map((file, i) => JSON.stringify({ file, patient: p.patients[i], label: p.labels[i], probability: p.probs[i] }));
  await writeFile(join(runDir, PREDICTIONS_FILE), `${rows.join('\n')}\n`);
}

/** The predictions of a run folder, or undefined when it has none (a run that did not finish, or an older trainer's). */
export async function readPredictions(runDir: string): Promise<TestPredictions | undefined> {
  let text: string;
  try {
    text = await readFile(join(runDir, PREDICTIONS_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const rows = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { file: string; patient: string; label: number; probability: number });
  return {
    files: rows.map((r) => r.file),
    patients: rows.map((r) => r.patient),
    labels: rows.map((r) => r.label),
    probs: rows.map((r) => r.probability),
  };
}
