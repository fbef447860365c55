/**
 * What yielding to the event loop once per training step costs (`fit` awaits a macrotask before
 * every step, so signals and timers are served mid-epoch). The same prebuilt batches are trained
 * with and without the yield, alternating rounds so that other work on the machine disturbs both
 * alike, on the fastest backend here with `micro` at 64 px, batch 32: a small, fast step, where a
 * fixed cost per step shows most. Run alone with `npm run bench -- yield`.
 */
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../trainer/src/backend/select-backend';
import { buildModel } from '../trainer/src/models/registry';
import { yieldToEventLoop } from '../trainer/src/train/yield-to-event-loop';

export async function benchStepYield(opts: { rounds?: number; steps?: number } = {}): Promise<object> {
  const rounds = opts.rounds ?? 6;
  const steps = opts.steps ?? 20;
  const imageSize = 64;
  const batchSize = 32;
  const backend = await selectBackend('auto');
  const model = buildModel('micro', { inputSize: imageSize, seed: 1 });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const xs = tf.randomUniform([batchSize, imageSize, imageSize, 3]);
  const ys = tf.tensor2d(Array.from({ length: batchSize }, (_, i) => i % 2), [batchSize, 1]);
  const round = async (withYield: boolean) => {
    const started = performance.now();
    for (let step = 0; step < steps; step++) {
      if (withYield) await yieldToEventLoop();
      await model.trainOnBatch(xs, ys);
    }
    return (steps * batchSize) / ((performance.now() - started) / 1000);
  };
  await round(true);
  const loadBefore = loadavg()[0];
  const without: number[] = [];
  const withYield: number[] = [];
  for (let r = 0; r < rounds; r++) {
    without.push(await round(false));
    withYield.push(await round(true));
  }
  tf.dispose([xs, ys]);
  // The yield alone, without training: its fixed cost per step.
  const yields = 10_000;
  const yieldStarted = performance.now();
  for (let i = 0; i < yields; i++) await yieldToEventLoop();
  const yieldMicroseconds = ((performance.now() - yieldStarted) * 1000) / yields;
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  return {
    benchmark: 'step-yield',
    backend: `${backend.name} (${backend.threads} threads)`,
    model: 'micro', imageSize, batchSize, steps, rounds,
    loadAverage1m: { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadavg()[0] * 100) / 100 },
    imagesPerSecond: { withoutYield: Math.round(median(without)), withYield: Math.round(median(withYield)) },
    changePercent: Math.round((1000 * (median(withYield) - median(without))) / median(without)) / 10,
    yieldMicroseconds: Math.round(yieldMicroseconds * 10) / 10,
    stepMilliseconds: Math.round((batchSize / median(without)) * 1000 * 10) / 10,
  };
}
