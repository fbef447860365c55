import { STOP_DURING_TRAINING, StopRequests } from '../../../trainer/src/train/stop-requests';

/** Stop requests whose quit is recorded instead of ending the test's process. */
function requests(graceMs = 200) {
  const quits: number[] = [];
  const stop = new StopRequests(() => {
    quits.push(Date.now());
    return undefined as never;
  }, graceMs);
  return { stop, quits };
}

test('the first request stops gracefully and says what it does, in the words the pipeline gave', () => {
  const { stop, quits } = requests();
  expect(stop.nextEffect).toBe(`${STOP_DURING_TRAINING} (again to quit at once)`);
  stop.describeStop('training is over: finishing the test evaluation and the report');
  expect(stop.nextEffect).toBe('training is over: finishing the test evaluation and the report (again to quit at once)');
  expect(stop.request()).toBe('stopping');
  expect(stop.signal.aborted).toBe(true);
  expect(quits).toEqual([]);
  expect(stop.nextEffect).toBe('quitting at once (second stop request)');
});

test('the second runs the cleanups (their synchronous part at once) and quits when they are done', async () => {
  const { stop, quits } = requests(5000);
  const done: string[] = [];
  stop.onForcedExit(() => {
    done.push('record');
  });
  stop.onForcedExit(async () => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    done.push('server');
  });
  stop.request();
  expect(stop.request()).toBe('quitting');
  expect(done).toEqual(['record']);
  await new Promise((resolve) => setTimeout(resolve, 150));
  expect(done).toEqual(['record', 'server']);
  expect(quits).toHaveLength(1);
});

test('a cleanup that hangs holds the quit for the grace period only; a third request quits at once', async () => {
  const { stop, quits } = requests(300);
  stop.onForcedExit(() => new Promise(() => undefined));
  stop.request();
  const second = Date.now();
  stop.request();
  expect(stop.nextEffect).toBe('quitting now (third stop request)');
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(quits).toHaveLength(1);
  expect(quits[0] - second).toBeGreaterThanOrEqual(290);

  const other = requests(100);
  other.stop.onForcedExit(() => new Promise(() => undefined));
  other.stop.request();
  other.stop.request();
  other.stop.request();
  expect(other.quits).toHaveLength(1);
  await new Promise((resolve) => setTimeout(resolve, 150));
});
