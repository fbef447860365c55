import type { Preprocessing } from '../models/preprocessing';

export interface Prediction {
  readonly probability: number;
  readonly label: string;
  /** Present when the image was scored but is not what the model expects (see input-contract.ts). */
  readonly warning?: string;
}

/** Labels each probability at the model's threshold (at or above it is the positive class), with each image's warning. */
export function toPredictions(
  probabilities: readonly number[],
  preprocessing: Preprocessing,
  warnings: ReadonlyArray<string | undefined> = [],
): Prediction[] {
  const negativeClass = preprocessing.classNames.find((name) => name !== preprocessing.positiveClass) ?? '';
  return probabilities.map((probability, i) => ({
    probability,
    label: probability >= preprocessing.threshold ? preprocessing.positiveClass : negativeClass,
    ...(warnings[i] ? { warning: warnings[i] } : {}),
  }));
}
