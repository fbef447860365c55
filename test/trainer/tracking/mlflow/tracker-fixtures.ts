import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultPreprocessing } from '../../../../trainer/src/models/preprocessing';
import { MlflowClient } from '../../../../trainer/src/tracking/mlflow/client';
import type { MlflowConnection } from '../../../../trainer/src/tracking/mlflow/env';
import { MlflowTracker, type MlflowTrackerOptions } from '../../../../trainer/src/tracking/mlflow/mlflow-tracker';
import type { RunStart } from '../../../../trainer/src/tracking/tracker';

export const IMAGE_SIZE = 16;

/** A run folder as the trainer leaves it: its record, metrics, a report, a plot and a saved TF.js model. */
/** The model card the fixture's model folder holds, as the pipeline writes one. */
export const MODEL_CARD = '# Malaria cell classifier: micro\n\n## What it is for, and what not\n\nA screening aid, not a diagnosis.\n';

export async function makeRunFolder(parent: string, name: string): Promise<{ runDir: string; modelDir: string }> {
  const runDir = path.join(parent, name);
  const modelDir = path.join(runDir, 'model');
  await mkdir(path.join(runDir, 'plots'), { recursive: true });
  await mkdir(modelDir, { recursive: true });
  await writeFile(path.join(runDir, 'run.json'), JSON.stringify({ runName: name, status: 'FINISHED' }));
  await writeFile(path.join(runDir, 'metrics.jsonl'), '{"epoch":1,"loss":0.7}\n');
  await writeFile(path.join(runDir, 'report.html'), '<html>report</html>');
  await writeFile(path.join(runDir, 'plots', 'loss.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  await writeFile(path.join(modelDir, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: [{ paths: ['group1-shard1of1.bin'] }] }));
  await writeFile(path.join(modelDir, 'group1-shard1of1.bin'), Buffer.alloc(64, 1));
  await writeFile(path.join(modelDir, 'preprocessing.json'), JSON.stringify(defaultPreprocessing('micro', IMAGE_SIZE)));
  await writeFile(path.join(modelDir, 'model_card.md'), MODEL_CARD);
  return { runDir, modelDir };
}

export function runStart(runDir: string, runName = path.basename(runDir)): RunStart {
  return { runName, runDir, description: `Trains micro on synthetic cells (${runName}).`, tags: { model: 'micro', backend: 'cpu' } };
}

export interface TestTracker {
  readonly tracker: MlflowTracker;
  readonly lines: string[];
}

/** A tracker with quick polls whose log lines are kept; `connection` names the server and the login. */
export function makeTracker(connection: MlflowConnection, options: Partial<MlflowTrackerOptions> = {}): TestTracker {
  const lines: string[] = [];
  const tracker = new MlflowTracker(new MlflowClient(connection), {
    experimentName: 'malaria',
    user: 'tester',
    sourceName: 'main.ts',
    gitCommit: '0123abcd',
    probeIntervalMs: 0,
    versionPollMs: 5,
    log: (line) => lines.push(line),
    ...options,
  });
  return { tracker, lines };
}

export const DATASET = {
  name: 'synthetic-cells-40',
  digest: 'a'.repeat(64),
  source: 'synthetic:40',
  splitDigest: 'b'.repeat(64),
  counts: { train: 32, validation: 4, test: 4 },
} as const;
