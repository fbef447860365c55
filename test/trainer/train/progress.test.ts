import { startProgress } from '../../../trainer/src/data/progress';
import { terminalProgress } from '../../../trainer/src/train/progress';

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

test('without a terminal, a plain line every tenth of an epoch with step, loss, accuracy, speed and ETA', () => {
  const out = stream();
  let now = 0;
  const progress = terminalProgress(out, { now: () => now });
  progress.epochStart(2, 10, 50);
  for (let step = 1; step <= 50; step++) {
    now += 1000;
    progress.step(step, values);
  }
  progress.epochEnd('epoch 2/10  loss 0.4123 ...');
  const lines = out.text.trim().split('\n');
  expect(lines).toHaveLength(10);
  expect(lines[0]).toBe('epoch 2/10  step 5/50 (10%)  loss 0.4123  acc 0.812  152 img/s  ETA 45s');
  expect(lines[8]).toMatch(/^epoch 2\/10  step 45\/50 \(90%\) .* ETA 5s$/);
  expect(lines[9]).toBe('epoch 2/10  loss 0.4123 ...');
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
  expect(lines[0]).toMatch(/^epoch 1\/1  step 3\/1000 \(0%\) .* ETA 2h46m$/);
});

test('a resumed epoch says where it continues', () => {
  const out = stream();
  const progress = terminalProgress(out, { now: () => 0 });
  progress.epochStart(3, 5, 40, 17);
  expect(out.text).toBe('epoch 3/5  resuming at step 18 of 40\n');
});
