import { startProgress } from '../../../trainer/src/data/progress';
import { etaClock, terminalProgress } from '../../../trainer/src/train/progress';
import { fitProgressLine } from '../../../trainer/src/train/progress-line';

/** A stream that keeps what is written; a terminal of `columns` when given. */
function stream(columns?: number): NodeJS.WriteStream & { text: string } {
  const s = { isTTY: columns !== undefined, columns, text: '', write: (chunk: string) => ((s.text += chunk), true), on: () => s, removeListener: () => s };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

/** What a person sees: one entry per line or redraw (a return to column 1), escape sequences removed. */
const screenLines = (text: string) => text.split(/\r|\n|\x1b\[1G/).map((line) => line.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '')).filter(Boolean);
const values = { loss: 0.41234, accuracy: 0.8123, imagesPerSecond: 152.4 };

test('on an 80-column terminal the epoch bar and the data bars fit the window', () => {
  const out = stream(80);
  const progress = terminalProgress(out);
  progress.epochStart(100, 100, 12_345);
  for (const step of [1, 6000, 12_345]) progress.step(step, { ...values, imagesPerSecond: 12_345.6 });
  progress.epochEnd('epoch 100/100  done');
  const data = startProgress({ label: 'downloading cell_images.zip', unit: 'bytes', total: 353_452_851, stream: out });
  data.update(176_726_426);
  data.finish();
  const lines = screenLines(out.text);
  expect(lines.some((line) => line.startsWith('epoch 100/100 ['))).toBe(true);
  expect(lines.some((line) => line.startsWith('downloading cell_images.zip ['))).toBe(true);
  expect(Math.max(...lines.map((line) => line.length))).toBeLessThanOrEqual(80);
});

test('without a terminal, a plain line every tenth of an epoch with step, loss, accuracy, speed and the epoch\'s and run\'s ETA', () => {
  const out = stream();
  let now = 0;
  const progress = terminalProgress(out, { now: () => now });
  progress.epochStart(2, 10, 50);
  for (let step = 1; step <= 50; step++) {
    now += 1000;
    progress.step(step, values);
  }
  progress.epochEnd('epoch 2/10  loss 0.412 ...');
  const lines = out.text.trim().split('\n');
  expect(lines).toHaveLength(10);
  // 1 s a step: 45 s left in this epoch, and 8 more epochs of 50 s.
  expect(lines[0]).toBe('epoch 2/10  step 5/50 (10%)  loss 0.412  acc 0.812  152 img/s  epoch ETA 45s  run ETA 7m25s');
  expect(lines[8]).toMatch(/^epoch 2\/10  step 45\/50 \(90%\) .* epoch ETA 5s  run ETA 6m45s$/);
  expect(lines[9]).toBe('epoch 2/10  loss 0.412 ...');
});

test('the run\'s ETA counts whole epochs as they took, validation and checkpoints included', () => {
  let now = 0;
  const clock = etaClock(() => now);
  clock.epochStart(1, 3, 10);
  for (let step = 1; step <= 10; step++) now += 1000;
  expect(clock.step(10)).toEqual({ epoch: 0, run: 20 });
  // Validation, checkpoint and logging take 5 s after the last step: an epoch takes 15 s, not 10.
  now += 5000;
  clock.epochStart(2, 3, 10);
  now += 2000;
  expect(clock.step(1)).toEqual({ epoch: 18, run: 18 + 5 + 15 });
});

test('a resumed epoch\'s ETA counts only the steps run since it resumed', () => {
  let now = 0;
  const clock = etaClock(() => now);
  clock.epochStart(3, 4, 100, 60);
  expect(clock.step(60)).toBeUndefined();
  now += 4000;
  // 2 s a step: 38 steps of this epoch left, then one more epoch of 100 steps.
  expect(clock.step(62)).toEqual({ epoch: 76, run: 76 + 200 });
});

test('*best is explained under the first line that has it, once', () => {
  const out = stream();
  const progress = terminalProgress(out, { now: () => 0 });
  for (const [epoch, best] of [[1, true], [2, false], [3, true]] as const) {
    progress.epochStart(epoch, 3, 1);
    progress.epochEnd(`epoch ${epoch}/3  val_loss 0.5${best ? '  *best' : ''}`, best);
  }
  const lines = out.text.trim().split('\n');
  expect(lines).toEqual([
    'epoch 1/3  val_loss 0.5  *best',
    '  *best: the lowest validation loss so far; the run keeps the weights of its best epoch',
    'epoch 2/3  val_loss 0.5',
    'epoch 3/3  val_loss 0.5  *best',
  ]);
});

describe('the progress line on a terminal', () => {
  const line = { epoch: 2, epochs: 10, step: 120, steps: 344, loss: 0.41234, accuracy: 0.8123, imagesPerSecond: 152.4, runEta: 760 };

  test('at 80 columns: the bar, the steps, loss, accuracy, speed and the run\'s ETA', () => {
    const text = fitProgressLine(line, 80);
    expect(text).toMatch(/^epoch 2\/10 \[=+-+\] 120\/344 loss 0\.412 acc 0\.812 152 img\/s run ETA 12m40s$/);
    expect(text.length).toBe(79);
  });

  test('at 50 columns: the bar goes first, then speed and steps; loss, accuracy and the ETA stay', () => {
    expect(fitProgressLine(line, 50)).toBe('epoch 2/10 loss 0.412 acc 0.812 run ETA 12m40s');
    expect(fitProgressLine(line, 70)).toBe('epoch 2/10 step 120/344 loss 0.412 acc 0.812 152 img/s run ETA 12m40s');
    expect(fitProgressLine(line, 65)).toBe('epoch 2/10 step 120/344 loss 0.412 acc 0.812 run ETA 12m40s');
  });

  test.each([50, 80])('drawn at %i columns, every redraw fits and keeps loss, accuracy and ETA', (columns) => {
    const out = stream(columns);
    let now = 0;
    const progress = terminalProgress(out, { now: () => now });
    progress.epochStart(3, 10, 400);
    for (const step of [1, 200, 400]) {
      now += 1000 * step;
      progress.step(step, values);
    }
    progress.epochEnd('epoch 3/10  done');
    const lines = screenLines(out.text).filter((text) => text.startsWith('epoch 3/10 ') && text.includes('loss'));
    // Before the first step: no figures yet.
    expect(lines[0]).toMatch(/loss - acc - run ETA \?$/);
    expect(lines.length).toBeGreaterThan(1);
    for (const [i, text] of lines.entries()) {
      expect(text.length).toBeLessThan(columns);
      if (i > 0) expect(text).toMatch(/loss 0\.412 acc 0\.812 .*run ETA \d\S*$/);
      expect(text.includes('[')).toBe(columns === 80);
    }
  });
});

test('without a terminal, a slow epoch still gets a line at least every 30 s', () => {
  const out = stream();
  let now = 0;
  const progress = terminalProgress(out, { now: () => now });
  progress.epochStart(1, 1, 1000);
  for (let step = 1; step <= 60; step++) {
    now += 10_000;
    progress.step(step, values);
  }
  // 600 s for 6% of the epoch: no tenth was reached, but a line came every 30 s.
  const lines = out.text.trim().split('\n');
  expect(lines).toHaveLength(20);
  expect(lines[0]).toMatch(/^epoch 1\/1  step 3\/1000 \(0%\) .* epoch ETA 2h46m  run ETA 2h46m$/);
});

test('a resumed epoch says where it continues', () => {
  const out = stream();
  const progress = terminalProgress(out, { now: () => 0 });
  progress.epochStart(3, 5, 40, 17);
  expect(out.text).toBe('epoch 3/5  resuming at step 18 of 40\n');
});
