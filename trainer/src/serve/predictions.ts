import type { Preprocessing } from '../models/preprocessing';

export interface Prediction {
  readonly probability: number;
  readonly label: string;
}

/** Labels each probability at the model's threshold: at or above it is the positive class. */
export function toPredictions(probabilities: readonly number[], preprocessing: Preprocessing): Prediction[] {
  const negativeClass = preprocessing.classNames.find((name) => name !== preprocessing.positiveClass) ?? '';
  return probabilities.map((probability) => ({
    probability,
    label: probability >= preprocessing.threshold ? preprocessing.positiveClass : negativeClass,
  }));
}
