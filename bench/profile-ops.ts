/**
 * `npm run bench:profile -- <model> [--image-size N] [--batch-size N] [--threads N] [--steps N] [--backend B] [--kernels K] [--json]`:
 * where one training step's time goes, kernel by kernel. --kernels picks the build of our wasm
 * kernels (relaxed-simd, simd; auto by default). <model> is a registered model or
 * `reference-cnn` (the 171k-parameter CNN of the train-speed benchmark, 64 px by default).
 * Every kernel of the backend is wrapped to time each call as TF.js dispatches it (a kernel that
 * calls others internally counts their time as its own): wall milliseconds, and CPU milliseconds
 * of the whole process (all threads), which other work on a shared machine disturbs far less
 * than wall time. "outside kernels" is the rest of the step: the gradient tape, the optimizer's
 * bookkeeping, tensors made in JavaScript, garbage collection.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../trainer/src/backend/select-backend';
import { KERNEL_VARIANTS, KernelVariantChoice } from '../trainer/src/backend/wasm-kernels/kernel-variant';
import { BACKENDS, BackendChoice } from '../trainer/src/config';
import { buildModel } from '../trainer/src/models/registry';
import { referenceCnn } from './train-speed';

interface KernelRow {
  calls: number;
  wallMs: number;
  cpuMs: number;
  /** CPU milliseconds per input-shape signature. */
  shapes: Map<string, number>;
}

export interface OpProfile {
  readonly model: string;
  readonly backend: string;
  readonly imageSize: number;
  readonly batchSize: number;
  readonly steps: number;
  readonly step: { readonly wallMs: number; readonly cpuMs: number };
  readonly imagesPerSecond: number;
  readonly loadAverage1m: number;
  readonly kernels: ReadonlyArray<{
    kernel: string; callsPerStep: number; wallMsPerStep: number; cpuMsPerStep: number; cpuShare: number; topShapes: string[];
  }>;
}

const cpuNow = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Wraps every kernel of `backendName` to time its top-level calls; returns the rows and an undo. */
function instrument(backendName: string): { rows: Map<string, KernelRow>; restore: () => void } {
  const rows = new Map<string, KernelRow>();
  const configs = tf.getKernelsForBackend(backendName);
  let depth = 0;
  for (const config of configs) {
    const original = config.kernelFunc;
    const kernelFunc: tf.KernelFunc = (args) => {
      if (depth > 0) return original(args);
      depth++;
      const [wall0, cpu0] = [performance.now(), cpuNow()];
      try {
        return original(args);
      } finally {
        depth--;
        const row = rows.get(config.kernelName) ?? { calls: 0, wallMs: 0, cpuMs: 0, shapes: new Map<string, number>() };
        const cpu = cpuNow() - cpu0;
        row.calls++;
        row.wallMs += performance.now() - wall0;
        row.cpuMs += cpu;
        const shape = Object.values(args.inputs).map((t) => JSON.stringify(t?.shape ?? null)).join(' ');
        row.shapes.set(shape, (row.shapes.get(shape) ?? 0) + cpu);
        rows.set(config.kernelName, row);
      }
    };
    tf.unregisterKernel(config.kernelName, backendName);
    tf.registerKernel({ ...config, kernelFunc });
  }
  const restore = () => {
    for (const config of configs) {
      tf.unregisterKernel(config.kernelName, backendName);
      tf.registerKernel(config);
    }
  };
  return { rows, restore };
}

export async function profileOps(opts: {
  model: string; imageSize: number; batchSize: number; threads?: number; steps: number; backend: BackendChoice; kernels?: KernelVariantChoice;
}): Promise<OpProfile> {
  const info = await selectBackend(opts.backend, { threads: opts.threads, kernels: opts.kernels });
  const model = opts.model === 'reference-cnn'
    ? referenceCnn(opts.imageSize)
    : buildModel(opts.model, { inputSize: opts.imageSize, seed: 1 });
  if (opts.model !== 'reference-cnn') model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy', metrics: ['accuracy'] });
  const x = tf.randomUniform([opts.batchSize, opts.imageSize, opts.imageSize, 3], 0, 1, 'float32', 1);
  const y = tf.round(tf.randomUniform([opts.batchSize, 1], 0, 1, 'float32', 2));
  // The heap grows over the first few steps (for compact, once more at the fourth); growing it
  // takes 150 ms or more, which a profile of a few steps would lay on whichever kernel allocated.
  for (let i = 0; i < 6; i++) await model.trainOnBatch(x, y);
  const { rows, restore } = instrument(tf.getBackend());
  const [wall0, cpu0] = [performance.now(), cpuNow()];
  try {
    for (let i = 0; i < opts.steps; i++) await model.trainOnBatch(x, y);
  } finally {
    restore();
  }
  const step = { wallMs: (performance.now() - wall0) / opts.steps, cpuMs: (cpuNow() - cpu0) / opts.steps };
  tf.dispose([x, y]);
  model.dispose();
  const sorted = [...rows.entries()].sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const per = (ms: number) => ms / opts.steps;
  const kernels = sorted.map(([kernel, r]) => ({
    kernel,
    callsPerStep: per(r.calls),
    wallMsPerStep: per(r.wallMs),
    cpuMsPerStep: per(r.cpuMs),
    cpuShare: per(r.cpuMs) / step.cpuMs,
    topShapes: [...r.shapes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([shape, ms]) => `${per(ms).toFixed(2)} ms ${shape}`),
  }));
  const inside = (key: 'wallMsPerStep' | 'cpuMsPerStep') => kernels.reduce((sum, k) => sum + k[key], 0);
  kernels.push({
    kernel: '(outside kernels)', callsPerStep: 0, wallMsPerStep: step.wallMs - inside('wallMsPerStep'),
    cpuMsPerStep: step.cpuMs - inside('cpuMsPerStep'), cpuShare: 1 - inside('cpuMsPerStep') / step.cpuMs, topShapes: [],
  });
  return {
    model: opts.model, backend: info.detail, imageSize: opts.imageSize, batchSize: opts.batchSize, steps: opts.steps,
    step, imagesPerSecond: (1000 * opts.batchSize) / step.wallMs, loadAverage1m: loadavg()[0], kernels,
  };
}

function print(p: OpProfile): string {
  const lines = [
    `${p.model}, ${p.imageSize} px, batch ${p.batchSize}, ${p.backend}: a step takes ${p.step.wallMs.toFixed(1)} ms `
      + `(${p.step.cpuMs.toFixed(1)} ms of CPU; ${p.imagesPerSecond.toFixed(0)} images/s while profiled; load average ${p.loadAverage1m.toFixed(2)})`,
    `${'kernel'.padEnd(36)} ${'calls'.padStart(5)} ${'wall ms'.padStart(8)} ${'CPU ms'.padStart(8)} ${'CPU'.padStart(6)}  costliest input shapes (CPU ms)`,
  ];
  for (const k of p.kernels) {
    lines.push(`${k.kernel.padEnd(36)} ${k.callsPerStep.toFixed(0).padStart(5)} ${k.wallMsPerStep.toFixed(2).padStart(8)} `
      + `${k.cpuMsPerStep.toFixed(2).padStart(8)} ${(100 * k.cpuShare).toFixed(1).padStart(5)}%  ${k.topShapes.join('; ')}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      'image-size': { type: 'string' }, 'batch-size': { type: 'string', default: '64' }, threads: { type: 'string' },
      steps: { type: 'string', default: '5' }, backend: { type: 'string', default: 'wasm' }, kernels: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const model = positionals[0] ?? 'compact';
  const backend = values.backend as BackendChoice;
  if (!BACKENDS.includes(backend)) throw new Error(`--backend must be one of ${BACKENDS.join(', ')}`);
  const kernels = values.kernels as KernelVariantChoice;
  if (kernels !== 'auto' && !KERNEL_VARIANTS.includes(kernels)) throw new Error(`--kernels must be one of auto, ${KERNEL_VARIANTS.join(', ')}`);
  const profile = await profileOps({
    model,
    imageSize: Number(values['image-size'] ?? (model === 'reference-cnn' ? 64 : 100)),
    batchSize: Number(values['batch-size']),
    threads: values.threads === undefined ? undefined : Number(values.threads),
    steps: Number(values.steps),
    backend,
    kernels,
  });
  process.stdout.write(values.json ? `${JSON.stringify(profile, null, 2)}\n` : print(profile));
}

if (require.main === module) {
  main().then(() => process.exit(0), (error: unknown) => {
    process.stderr.write(`profile failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
