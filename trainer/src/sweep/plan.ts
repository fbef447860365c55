import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { createBlobStore } from '../cloud/blob-store';
import { UserError } from '../user-error';
import type { SweepCell } from './grid';

/**
 * A sweep as it is handed to whatever runs it (this machine, or AWS Batch through the plan's
 * folder in S3): its id and its cells' options. The cell an array child trains is
 * `cells[AWS_BATCH_JOB_ARRAY_INDEX]`.
 */
export interface SweepPlan {
  readonly format: typeof PLAN_FORMAT;
  readonly sweepId: string;
  readonly createdAt: string;
  readonly cells: readonly PlannedCell[];
}

export interface PlannedCell {
  readonly index: number;
  readonly name: string;
  readonly varied: Readonly<Record<string, string>>;
  /** Training options as given; the runner adds where it keeps checkpoints and data. */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Where a plan's files sit: `<folder>/plan.json`, and the parent run beside it. */
export const PLAN_FILE = 'plan.json';
export const PARENT_FILE = 'parent.json';
export const PLAN_FORMAT = 'malaria-sweep/1';
export const SWEEP_ID_PATTERN = /^sweep-\d{8}-\d{6}-[0-9a-f]{4}$/;

export function newSweepId(now: Date = new Date()): string {
  const iso = now.toISOString();
  return `sweep-${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${randomBytes(2).toString('hex')}`;
}

export function planSweep(cells: readonly SweepCell[], now: Date = new Date(), sweepId: string = newSweepId(now)): SweepPlan {
  return {
    format: PLAN_FORMAT,
    sweepId,
    createdAt: now.toISOString(),
    cells: cells.map(({ index, name, varied, options }) => ({ index, name, varied, options })),
  };
}

const PlanSchema = z.object({
  format: z.literal(PLAN_FORMAT),
  sweepId: z.string().regex(SWEEP_ID_PATTERN),
  createdAt: z.string(),
  cells: z.array(z.object({
    index: z.number().int().nonnegative(),
    name: z.string(),
    varied: z.record(z.string(), z.string()),
    options: z.record(z.string(), z.unknown()),
  })).min(1),
});

/** The MLflow run that holds a sweep's children, written beside the plan by whoever starts the sweep. */
export interface SweepParent {
  readonly runId?: string;
  /** The sweep's own run folder (on the machine that started it). */
  readonly runDir: string;
}

/** Reads and writes a sweep's files in its folder: `s3://bucket/sweeps/<id>/` or a local folder. */
export function sweepFolder(uri: string, s3?: S3Client) {
  const store = createBlobStore(uri, '--plan', s3);
  const readJson = async (name: string): Promise<unknown> => {
    const bytes = await store.read(name);
    return bytes && JSON.parse(Buffer.from(bytes).toString('utf8'));
  };
  return {
    description: store.description,
    writePlan: (plan: SweepPlan) => store.write(PLAN_FILE, `${JSON.stringify(plan, null, 1)}\n`),
    async readPlan(): Promise<SweepPlan> {
      const parsed = PlanSchema.safeParse(await readJson(PLAN_FILE));
      if (!parsed.success) throw new UserError(`--plan: ${store.description}/${PLAN_FILE} is missing or not a sweep plan this trainer can read`);
      return parsed.data as SweepPlan;
    },
    writeParent: (parent: SweepParent) => store.write(PARENT_FILE, `${JSON.stringify(parent)}\n`),
    readParent: async () => (await readJson(PARENT_FILE)) as SweepParent | undefined,
  };
}

/** The cell an array child trains: `--index`, else AWS Batch's AWS_BATCH_JOB_ARRAY_INDEX. */
export function cellOf(plan: SweepPlan, index: number | undefined, env: NodeJS.ProcessEnv): PlannedCell {
  const raw = index ?? (env.AWS_BATCH_JOB_ARRAY_INDEX === undefined ? undefined : Number(env.AWS_BATCH_JOB_ARRAY_INDEX));
  if (raw === undefined || !Number.isInteger(raw)) throw new UserError('sweep-cell: give --index, or run it as an AWS Batch array child (AWS_BATCH_JOB_ARRAY_INDEX)');
  const cell = plan.cells[raw];
  if (!cell) throw new UserError(`sweep-cell: index ${raw} is outside the plan's ${plan.cells.length} cells`);
  return cell;
}

/** A cell's run name inside its sweep's folder: `03-cnn-1-seed-2`, sorted as the plan is. */
export function cellRunName(cell: Pick<PlannedCell, 'index' | 'name'>): string {
  const slug = cell.name.toLowerCase().replace(/[^a-z0-9.]+/g, '-').replace(/^-+|-+$/g, '');
  return `${String(cell.index + 1).padStart(2, '0')}-${slug || 'cell'}`;
}
