import { perPatient, splitComposition } from '../../../trainer/src/evaluate/patients';

test('per patient: counts, missed parasites and false alarms, worst accuracy first', () => {
  const labels = [1, 1, 0, 0, 1, 0, 1, 0, 0];
  const probs = [0.9, 0.2, 0.1, 0.7, 0.8, 0.3, 0.6, 0.1, 0.2];
  const patients = ['A', 'A', 'A', 'A', 'B', 'B', 'C', 'C', 'C'];
  expect(perPatient(labels, probs, patients, 0.5)).toEqual([
    { patient: 'A', images: 4, byClass: [2, 2], falseNegatives: 1, falsePositives: 1, accuracy: 0.5 },
    { patient: 'B', images: 2, byClass: [1, 1], falseNegatives: 0, falsePositives: 0, accuracy: 1 },
    { patient: 'C', images: 3, byClass: [2, 1], falseNegatives: 0, falsePositives: 0, accuracy: 1 },
  ]);
  // At a higher threshold C's positive (0.6) is missed too.
  expect(perPatient(labels, probs, patients, 0.65).map((p) => [p.patient, p.falseNegatives])).toEqual([['A', 1], ['C', 1], ['B', 0]]);
});

test('split composition: images and patients per class from NIH file names', () => {
  const files = [
    'Parasitized/C1P1thinF_IMG_1_cell_1.png', 'Parasitized/C1P1thinF_IMG_1_cell_2.png',
    'Uninfected/C1P1thinF_IMG_2_cell_1.png', 'Uninfected/C2P2thinF_IMG_3_cell_1.png', 'Uninfected/C3P3thinF_IMG_4_cell_1.png',
  ];
  expect(splitComposition([1, 1, 0, 0, 0], files)).toEqual({ images: [3, 2], patients: [3, 1], patientCount: 3 });
});
