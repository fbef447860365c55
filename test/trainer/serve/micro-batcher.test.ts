import { MicroBatcher } from '../../../trainer/src/serve/micro-batcher';

function recordingBatcher(maxBatch: number, maxWaitMs: number, fail?: (items: readonly number[]) => boolean) {
  const calls: number[][] = [];
  const batcher = new MicroBatcher<number, number>({
    maxBatch,
    maxWaitMs,
    run: async (items) => {
      calls.push([...items]);
      await new Promise((r) => setTimeout(r, 5));
      if (fail?.(items)) throw new Error('model failed');
      return items.map((x) => x * 10);
    },
  });
  return { batcher, calls };
}

test('requests submitted within the wait window share one call and each gets its own results', async () => {
  const { batcher, calls } = recordingBatcher(64, 20);
  const results = await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
  expect(results).toEqual([[10], [20, 30], [40]]);
  expect(calls).toEqual([[1, 2, 3, 4]]);
});

test('a full batch runs without waiting, and items that arrive during a run go in the next call', async () => {
  const { batcher, calls } = recordingBatcher(3, 10_000);
  const first = batcher.submit([1, 2, 3, 4, 5, 6, 7]);
  const second = batcher.submit([8]);
  expect(await Promise.all([first, second])).toEqual([[10, 20, 30, 40, 50, 60, 70], [80]]);
  expect(calls).toEqual([[1, 2, 3], [4, 5, 6], [7, 8]]);
});

test('a failed call rejects the requests with an item in it, and later calls still run', async () => {
  const { batcher } = recordingBatcher(1, 0, (items) => items.includes(3));
  const results = await Promise.allSettled([batcher.submit([1, 2]), batcher.submit([3, 4]), batcher.submit([5])]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
});

test('an empty request resolves without calling the model', async () => {
  const { batcher, calls } = recordingBatcher(4, 0);
  expect(await batcher.submit([])).toEqual([]);
  expect(calls).toEqual([]);
});
