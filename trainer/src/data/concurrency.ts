/**
 * Runs `fn` on every item with at most `limit` calls in flight, so native work (file reads, inflate,
 * image decoding) keeps libuv's thread pool busy without queueing thousands of buffers at once.
 * Rejects with the first error; calls already running finish, no new ones start.
 */
export async function forEachConcurrent<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await fn(items[index], index);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
