import type { OutboxOp } from './outbox';
import { requireRun, type SendContext } from './send-context';

/** Digests are stored in a 36-character column; longer content hashes are cut (they stay unique in practice). */
const MAX_DIGEST = 36;

/** The digest as MLflow stores it: what metrics name to point at the same data set input. */
export function mlflowDatasetDigest(digest: string): string {
  return digest.slice(0, MAX_DIGEST);
}

function sourceTypeOf(source: string): string {
  if (/^https?:/.test(source)) return 'http';
  if (/^s3:/.test(source)) return 's3';
  return source.startsWith('synthetic') ? 'code' : 'local';
}

/** The data set as a run input (`mlflow.data.context=training`), with its split counts as the profile. */
export async function logDataset(op: Extract<OutboxOp, { op: 'dataset' }>, ctx: SendContext): Promise<void> {
  const total = op.counts.train + op.counts.validation + op.counts.test;
  const sourceType = sourceTypeOf(op.source);
  await ctx.client.logInputs(requireRun(ctx), [
    {
      tags: [{ key: 'mlflow.data.context', value: 'training' }],
      dataset: {
        name: op.name,
        digest: mlflowDatasetDigest(op.digest),
        source_type: sourceType,
        source: JSON.stringify(sourceType === 'http' ? { url: op.source } : { uri: op.source }),
        profile: JSON.stringify({
          num_rows: total,
          train_rows: op.counts.train,
          validation_rows: op.counts.validation,
          test_rows: op.counts.test,
          digest: op.digest,
          split_digest: op.splitDigest,
        }),
      },
    },
  ]);
}
