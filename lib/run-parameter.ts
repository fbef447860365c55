import { createHash } from 'node:crypto';
import { UserError } from '../trainer/src/user-error';

/**
 * What the next trainer instance runs: a run id (the checkpoint prefix, so a replacement instance
 * after a spot reclaim resumes the same run) and the trainer's arguments. It lives in one SSM
 * parameter as plain lines, the run id first and then one argument per line, so the boot script
 * reads it with `mapfile` and needs no JSON parser on the instance.
 */
export interface RunRequest {
  readonly runId: string;
  readonly args: readonly string[];
}

export const RUN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function encodeRunParameter(request: RunRequest): string {
  if (!RUN_ID_PATTERN.test(request.runId)) {
    throw new UserError(`run id "${request.runId}": use lower-case letters, digits and dashes (at most 63)`);
  }
  const bad = request.args.find((arg) => /[\r\n]/.test(arg) || arg === '');
  if (bad !== undefined) throw new UserError(`trainer argument ${JSON.stringify(bad)}: empty values and line breaks cannot be passed`);
  return [request.runId, ...request.args].join('\n');
}

export function decodeRunParameter(value: string): RunRequest {
  const [runId = '', ...args] = value.split('\n');
  return { runId, args };
}

/**
 * The run a deploy starts: named after the image and the arguments, so the same deploy twice names
 * the same run (and resumes it instead of training again), while a new image or configuration
 * names a new one.
 */
export function deployRunId(imageHash: string, args: readonly string[]): string {
  const digest = createHash('sha256').update(imageHash).update('\n').update(args.join('\n')).digest('hex');
  return `deploy-${digest.slice(0, 12)}`;
}

/** A run started by hand: sortable by start time, with the model in its name. */
export function newRunId(model: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${model}`.toLowerCase();
}
