import { createHash, randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { UserError } from '../user-error';
import type { PartialEpoch } from '../train/fit';
import type { EpochRecord } from '../train/history';
import { createBlobStore, type BlobStore } from './blob-store';

/** A tensor as plain data, so a checkpoint needs no TF.js to be written or read. */
export interface SerializedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32';
  readonly data: Float32Array | Int32Array;
}

/** Everything a restarted run needs to carry on where the last finished epoch left it. */
export interface CheckpointState {
  /** The last finished epoch (1-based). */
  readonly epoch: number;
  /** The tracking run to continue (MLflow run id), so a resumed run adds to the same history. */
  readonly runId?: string;
  readonly history: readonly EpochRecord[];
  /** The model's weights in `model.weights` order. */
  readonly weights: readonly SerializedTensor[];
  /** The optimizer's state (`optimizer.getWeights()`: Adam's iteration count, then its moments). */
  readonly optimizer: readonly SerializedTensor[];
  /** Best epoch so far on validation loss, with its weights, for early stopping's restore. */
  readonly best?: { readonly epoch: number; readonly valLoss: number; readonly weights: readonly SerializedTensor[] };
  /** Where an epoch stopped partway, so a restart continues at the next step (fit's PartialEpoch). */
  readonly partial?: PartialEpoch;
  /** Whatever else the loop needs to continue identically (JSON): random state, run folder, option digest. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

export interface CheckpointStore {
  /** Where checkpoints go, as a person would write it. */
  readonly description: string;
  save(state: CheckpointState): Promise<void>;
  /** The latest complete checkpoint, or undefined when none was written yet. */
  load(): Promise<CheckpointState | undefined>;
}

export const MANIFEST_NAME = 'checkpoint.json';
const FORMAT = 'malaria-trainer-checkpoint/1';

/**
 * Checkpoints under an `s3://bucket/prefix/` or a local folder. Each save writes the tensors as one
 * new data file, then the small manifest that names it, then removes the data file it replaces:
 * an interruption at any point leaves the previous checkpoint or the new one readable, never half.
 */
export function createCheckpointStore(uri: string, options: { s3?: S3Client; flag?: string } = {}): CheckpointStore {
  const flag = options.flag ?? '--checkpoint-uri';
  const store = createBlobStore(uri, flag, options.s3);
  let previousDataFile: string | undefined | null = null;

  return {
    description: store.description,
    async save(state) {
      const { bytes, tensors } = encodeTensors(state);
      const dataFile = `epoch-${String(state.epoch).padStart(4, '0')}-${randomBytes(4).toString('hex')}.bin`;
      if (previousDataFile === null) previousDataFile = (await readManifest(store, flag))?.data.file;
      await store.write(dataFile, bytes);
      const manifest: Manifest = {
        format: FORMAT,
        savedAt: new Date().toISOString(),
        epoch: state.epoch,
        runId: state.runId,
        history: state.history.map((record) => ({ ...record })),
        best: state.best && { epoch: state.best.epoch, valLoss: state.best.valLoss },
        partial: state.partial && { ...state.partial },
        meta: state.meta && { ...state.meta },
        data: { file: dataFile, bytes: bytes.length, sha256: sha256(bytes) },
        tensors,
      };
      await store.write(MANIFEST_NAME, JSON.stringify(manifest, null, 1));
      if (previousDataFile && previousDataFile !== dataFile) await store.remove(previousDataFile).catch(() => undefined);
      previousDataFile = dataFile;
    },
    async load() {
      const manifest = await readManifest(store, flag);
      if (!manifest) return undefined;
      const where = `${store.description}/${manifest.data.file}`;
      const bytes = await store.read(manifest.data.file);
      if (!bytes || bytes.length !== manifest.data.bytes || sha256(bytes) !== manifest.data.sha256) {
        throw new UserError(`${flag}: the checkpoint data ${where} is missing or damaged; delete ${store.description} to start the run afresh`);
      }
      previousDataFile = manifest.data.file;
      const decode = (entries: readonly TensorEntry[]) => entries.map((entry) => decodeTensor(bytes, entry));
      return {
        epoch: manifest.epoch,
        runId: manifest.runId,
        history: manifest.history,
        weights: decode(manifest.tensors.weights),
        optimizer: decode(manifest.tensors.optimizer),
        best: manifest.best && { ...manifest.best, weights: decode(manifest.tensors.best) },
        partial: manifest.partial,
        meta: manifest.meta,
      };
    },
  };
}

const TensorEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'int32']),
  /** Byte offset into the data file; a multiple of 4. */
  offset: z.number().int().nonnegative(),
});
type TensorEntry = z.infer<typeof TensorEntrySchema>;

// JSON writes NaN (a diverged loss) as null.
const jsonNumber = z.union([z.number(), z.null().transform(() => Number.NaN)]);

const EpochRecordSchema = z.looseObject({
  epoch: z.number().int().positive(),
  loss: jsonNumber,
  accuracy: jsonNumber,
  val_loss: jsonNumber,
  val_accuracy: jsonNumber,
  learning_rate: jsonNumber,
  epoch_seconds: jsonNumber,
  images_per_second: jsonNumber,
}) satisfies z.ZodType<EpochRecord, unknown>;

const ManifestSchema = z.object({
  format: z.literal(FORMAT),
  savedAt: z.string(),
  epoch: z.number().int().nonnegative(),
  runId: z.string().optional(),
  history: z.array(EpochRecordSchema),
  best: z.object({ epoch: z.number().int().positive(), valLoss: jsonNumber }).optional(),
  partial: z.object({
    epoch: z.number().int().positive(),
    steps: z.number().int().positive(),
    lossSum: jsonNumber,
    correctSum: z.number(),
    seen: z.number().int().positive(),
    seconds: z.number().nonnegative(),
  }).optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
  data: z.object({ file: z.string().regex(/^[\w.-]+$/), bytes: z.number().int().nonnegative(), sha256: z.string() }),
  tensors: z.object({ weights: z.array(TensorEntrySchema), optimizer: z.array(TensorEntrySchema), best: z.array(TensorEntrySchema) }),
});
type Manifest = z.infer<typeof ManifestSchema>;

async function readManifest(store: BlobStore, flag: string): Promise<Manifest | undefined> {
  const raw = await store.read(MANIFEST_NAME);
  if (!raw) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = ManifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new UserError(`${flag}: ${store.description}/${MANIFEST_NAME} is not a checkpoint this trainer can read; point ${flag} at a new location or delete it`);
  }
  return parsed.data;
}

/** Lays every tensor end to end (all dtypes are 4 bytes wide, so offsets stay aligned). */
function encodeTensors(state: CheckpointState): { bytes: Uint8Array; tensors: Manifest['tensors'] } {
  const groups = { weights: state.weights, optimizer: state.optimizer, best: state.best?.weights ?? [] };
  const total = Object.values(groups).flat().reduce((sum, t) => sum + t.data.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  const place = (tensor: SerializedTensor): TensorEntry => {
    const expected = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== expected) throw new Error(`checkpoint tensor ${tensor.name}: ${tensor.data.length} values for shape [${tensor.shape}]`);
    bytes.set(new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength), offset);
    const entry = { name: tensor.name, shape: [...tensor.shape], dtype: tensor.dtype, offset };
    offset += tensor.data.byteLength;
    return entry;
  };
  return {
    bytes,
    tensors: { weights: groups.weights.map(place), optimizer: groups.optimizer.map(place), best: groups.best.map(place) },
  };
}

function decodeTensor(bytes: Uint8Array, entry: TensorEntry): SerializedTensor {
  const length = entry.shape.reduce((a, b) => a * b, 1);
  // A copy (Buffer#slice would be a view): 4-byte aligned whatever the source buffer's offset.
  const slice = new Uint8Array(bytes.subarray(entry.offset, entry.offset + length * 4));
  const data = entry.dtype === 'int32' ? new Int32Array(slice.buffer) : new Float32Array(slice.buffer);
  return { name: entry.name, shape: entry.shape, dtype: entry.dtype, data };
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
