import { LOG_BATCH_LIMITS, type MetricEntry, splitBatch, validateBatch } from '../../../../trainer/src/tracking/mlflow/batch';

const metrics = (n: number): MetricEntry[] => Array.from({ length: n }, (_, i) => ({ key: `m${i % 7}`, value: i, timestamp: 1, step: i }));
const kvs = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: String(i) }));
const sizes = (items: Parameters<typeof splitBatch>[0]) => splitBatch(items).map((b) => [b.metrics.length, b.params.length, b.tags.length]);

describe('splitBatch', () => {
  test.each([
    ['exactly 1000 metrics: one call', metrics(1000), 0, 0, [[1000, 0, 0]]],
    ['1001 metrics: two calls', metrics(1001), 0, 0, [[1000, 0, 0], [1, 0, 0]]],
    ['exactly 100 params: one call', [], 100, 0, [[0, 100, 0]]],
    ['101 params: two calls', [], 101, 0, [[0, 100, 0], [0, 1, 0]]],
    ['101 tags: two calls', [], 0, 101, [[0, 0, 100], [0, 0, 1]]],
    ['1000 metrics with 100 params and 100 tags: 1000 in total per call', metrics(1000), 100, 100, [[800, 100, 100], [200, 0, 0]]],
  ])('%s', (_name, m, p, t, expected) => {
    expect(sizes({ metrics: m, params: kvs(p, 'p'), tags: kvs(t, 't') })).toEqual(expected);
  });

  test('keeps the order of every item', () => {
    const items = { metrics: metrics(2500), params: kvs(250, 'p'), tags: kvs(5, 't') };
    const batches = splitBatch(items);
    expect(batches.flatMap((b) => b.metrics)).toEqual(items.metrics);
    expect(batches.flatMap((b) => b.params)).toEqual(items.params);
    for (const b of batches) expect(b.metrics.length + b.params.length + b.tags.length).toBeLessThanOrEqual(LOG_BATCH_LIMITS.total);
  });

  test('nothing to log: no call', () => {
    expect(splitBatch({ metrics: [], params: [], tags: [] })).toEqual([]);
  });
});

describe('validateBatch', () => {
  test('a 250-character key is accepted, 251 is rejected with the key named', () => {
    const ok = 'k'.repeat(250);
    expect(() => validateBatch({ metrics: [{ key: ok, value: 1, timestamp: 1, step: 0 }], params: [], tags: [] })).not.toThrow();
    const long = `val_${'x'.repeat(247)}`;
    expect(() => validateBatch({ metrics: [], params: [{ key: long, value: '1' }], tags: [] })).toThrow(
      /param key 'val_x+\.\.\.' is 251 characters; MLflow accepts at most 250/,
    );
  });

  test('an over-long param value is named', () => {
    expect(() => validateBatch({ metrics: [], params: [{ key: 'split', value: 'x'.repeat(6001) }], tags: [] })).toThrow(/param 'split' value is 6001 characters/);
  });
});
