import * as tf from '@tensorflow/tfjs';
import { trainingLoss } from '../../../trainer/src/train/loss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const bce = (target: number, p: number): number => -(target * Math.log(p) + (1 - target) * Math.log(1 - p));

describe('trainingLoss', () => {
  test('without smoothing is plain binary cross-entropy', () => {
    expect(trainingLoss(0)).toBe('binaryCrossentropy');
  });

  test('with smoothing s scores predictions against 1 - s/2 and s/2', () => {
    const loss = trainingLoss(0.2);
    if (typeof loss === 'string') throw new Error('expected a loss function');
    const values = tf.tidy(() => loss(tf.tensor2d([[1], [0]]), tf.tensor2d([[0.7], [0.2]])).arraySync()) as number[];
    expect(values[0]).toBeCloseTo(bce(0.9, 0.7), 5);
    expect(values[1]).toBeCloseTo(bce(0.1, 0.2), 5);
  });

  test('with smoothing, certainty is no longer the best answer: the loss is lowest at the smoothed target', () => {
    const loss = trainingLoss(0.1);
    if (typeof loss === 'string') throw new Error('expected a loss function');
    const at = (p: number) => tf.tidy(() => (loss(tf.tensor2d([[1]]), tf.tensor2d([[p]])).arraySync() as number[])[0]);
    expect(at(0.95)).toBeLessThan(at(0.999));
    expect(at(0.95)).toBeLessThan(at(0.9));
  });
});
