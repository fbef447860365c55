import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseTrainConfig } from '../../../trainer/src/config';
import { evaluatePredictions } from '../../../trainer/src/evaluate/evaluation';
import { DESCRIPTION_LIMIT, renderModelCard, versionDescription, writeModelCard, type ModelCardData } from '../../../trainer/src/evaluate/model-card';
import { chooseThreshold } from '../../../trainer/src/evaluate/threshold';
import type { EpochRecord } from '../../../trainer/src/train/history';

// 40 test cells of 4 patients; patient D's cells are the ones the model gets wrong.
const PATIENTS = ['A', 'B', 'C', 'D'].flatMap((p) => Array.from({ length: 10 }, () => `C${p}P1thinF`));
const LABELS = PATIENTS.map((_, i) => i % 2);
const PROBS = LABELS.map((label, i) => (PATIENTS[i] === 'CDP1thinF' ? 1 - label : label) * 0.8 + 0.1 + (i % 5) * 0.01);
const HISTORY: EpochRecord[] = [
  { epoch: 1, loss: 0.6, accuracy: 0.7, val_loss: 0.5, val_accuracy: 0.75, learning_rate: 1e-3, epoch_seconds: 30, images_per_second: 100 },
  { epoch: 2, loss: 0.4, accuracy: 0.8, val_loss: 0.45, val_accuracy: 0.8, learning_rate: 5e-4, epoch_seconds: 30, images_per_second: 120 },
];

function cardData(overrides: Partial<ModelCardData> = {}): ModelCardData {
  const threshold = chooseThreshold(LABELS, PROBS, { metric: 'sensitivity', value: 0.7 });
  const evaluation = evaluatePredictions({ labels: LABELS, probs: PROBS, patients: PATIENTS }, threshold, { seed: 42 });
  const composition = { images: [20, 20] as [number, number], patients: [4, 4] as [number, number], patientCount: 4 };
  return {
    runName: '20261205-101500-compact',
    model: 'compact',
    status: 'FINISHED',
    backend: { name: 'wasm', summary: 'wasm (SIMD, 2 threads)' },
    startTime: '2026-12-05T10:15:00.000Z',
    durationSeconds: 754,
    data: {
      source: 'nih-cells.zip', splitMode: 'patient', counts: { train: 320, validation: 40, test: 40 },
      composition: { train: { ...composition, images: [160, 160], patientCount: 32 }, validation: composition, test: composition },
    },
    history: HISTORY,
    evaluation,
    recipe: parseTrainConfig({ epochs: 2 }),
    paramCount: 72057,
    datasetDigest: 'd'.repeat(64),
    splitDigest: 's'.repeat(64),
    runId: 'abc123',
    registeredModel: 'malaria-classifier',
    ...overrides,
  };
}

describe('renderModelCard', () => {
  const card = renderModelCard(cardData());

  test('says what the model is for and what not: a screening aid on single thin-smear cells, not a diagnosis', () => {
    expect(card).toMatch(/^# Malaria cell classifier: compact \(run 20261205-101500-compact\)\n/);
    expect(card).toContain('**For:** screening single red blood cells from Giemsa-stained **thin** blood smears');
    expect(card).toContain('**Not for:** diagnosing malaria in a person.');
  });

  test('the data and split: source, patients per split, both digests', () => {
    expect(card).toContain('400 images from `nih-cells.zip`, split by patient');
    expect(card).toContain('| train | 320 | 160 | 160 | 32 |');
    expect(card).toContain(`Data digest \`${'d'.repeat(64)}\`; split digest \`${'s'.repeat(64)}\``);
  });

  test('the test figures with their intervals, the threshold and what it trades, calibration, the worst patient first', () => {
    const { evaluation } = cardData();
    const m = evaluation!.metrics;
    expect(card).toContain(`| Accuracy | ${m.accuracy.toFixed(3)} | ${evaluation!.intervals.accuracy!.low.toFixed(3)} to ${evaluation!.intervals.accuracy!.high.toFixed(3)} |`);
    expect(card).toMatch(/\| ROC AUC \| \d\.\d{3} \| \d\.\d{3} to \d\.\d{3} \|/);
    expect(card).toContain(`chosen on the validation split (never on test) as the highest threshold with sensitivity at least 0.7`);
    expect(card).toContain(`On test it missed ${m.confusion.fn} of 20 Parasitized cells`);
    expect(card).toMatch(/Brier score \d\.\d{3}/);
    const worst = card.slice(card.indexOf('## Worst test patients'));
    expect(worst.split('\n')[4]).toMatch(/^\| CDP1thinF \| 10 \| 5 \| 5 \| 0\.000 \|$/);
  });

  test('the recipe and what it cost; how to load it from Python, REST and this project', () => {
    expect(card).toContain('| Architecture | `compact`, 72,057 parameters |');
    expect(card).toContain('| Epochs | 2 of at most 2; the weights are epoch 2\'s, the lowest validation loss |');
    expect(card).toContain('| Cost | 12 min 34 s from start to end on wasm (SIMD, 2 threads), 110 training images/s;');
    expect(card).toContain('model = mlflow.pyfunc.load_model("models:/malaria-classifier/<version>")   # or runs:/abc123/model');
    expect(card).toContain('mlflow models serve -m models:/malaria-classifier/<version> --env-manager local');
    expect(card).toContain('npm run serve -- --model models:/malaria-classifier/<version>');
  });

  test('a model never tested (an interrupted run) says so instead of figures', () => {
    const killed = renderModelCard(cardData({ status: 'KILLED', evaluation: undefined }));
    expect(killed).toContain('None: the run ended KILLED before the test split was evaluated. Do not use this model before it is.');
    expect(killed).not.toContain('## Threshold');
  });

  test('writeModelCard puts model_card.md in the model folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'card-'));
    try {
      const file = await writeModelCard(join(dir, 'model'), cardData());
      expect(file).toBe(join(dir, 'model', 'model_card.md'));
      expect(await readFile(file, 'utf8')).toBe(card);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('versionDescription', () => {
  const card = renderModelCard(cardData());

  test('the header, then the whole card when it fits', () => {
    expect(versionDescription('**v1**', card, 100_000)).toBe(`**v1**\n\n${card.trimEnd()}`);
  });

  test('within MLflow\'s 5,000 characters: whole sections from the start, and where the full card is', () => {
    const description = versionDescription('**v1**', card);
    expect(card.length).toBeGreaterThan(DESCRIPTION_LIMIT);
    expect(description.length).toBeLessThanOrEqual(DESCRIPTION_LIMIT);
    expect(description).toContain('## What it is for, and what not');
    expect(description).toContain('## Test figures');
    expect(description).toMatch(/\n\n\*The full card: `model_card.md` among this version's files\.\*$/);
    const kept = description.slice('**v1**\n\n'.length, description.indexOf('\n\n*The full card'));
    expect(card.startsWith(kept)).toBe(true);
  });
});
