import { startProgress } from '../../../trainer/src/data/progress';

/** A non-terminal stream (a log file, CI) that keeps what is written. */
function logStream(): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY: false, text: '', write: (chunk: string) => ((stream.text += chunk), true) };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

test('without a terminal, progress is a plain line a log keeps, ending with the totals', () => {
  const stream = logStream();
  const progress = startProgress({ label: 'decoding images', total: 27558, unit: 'images', stream });
  progress.update(1000);
  progress.update(27558);
  progress.finish();
  progress.finish();
  expect(stream.text).toMatch(/^decoding images: 100% \(27,558\/27,558, [\d,]+\/s\)\n$/);
});

test('without a terminal, a line marks every tenth of the work, however fast it goes', () => {
  const stream = logStream();
  const progress = startProgress({ label: 'generating synthetic images', total: 2000, unit: 'images', stream });
  for (let done = 1; done <= 2000; done++) progress.update(done);
  progress.finish();
  const percents = stream.text.trim().split('\n').map((line) => /: (\d+)% \(/.exec(line)?.[1]);
  expect(percents).toEqual(['10', '20', '30', '40', '50', '60', '70', '80', '90', '100']);
  expect(stream.text).toContain('(2,000/2,000, ');
});

test('downloads are counted in bytes', () => {
  const stream = logStream();
  const progress = startProgress({ label: 'downloading cell_images.zip', unit: 'bytes', stream });
  progress.update(176_726_426, 353_452_851);
  progress.finish();
  expect(stream.text).toMatch(/^downloading cell_images\.zip: 50% \(176\.7 MB\/353\.5 MB, .*\/s\)\n$/);
});

test('a callback, when given, receives the progress and nothing is printed', () => {
  const stream = logStream();
  const seen: [number, number | undefined][] = [];
  const progress = startProgress({ label: 'x', total: 10, unit: 'images', stream, onProgress: (done, total) => seen.push([done, total]) });
  progress.update(4);
  progress.finish();
  expect(seen).toEqual([[4, 10]]);
  expect(stream.text).toBe('');
});
