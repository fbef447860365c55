import { join } from 'node:path';
import { createCheckpointStore } from '../cloud/checkpoint-store';
import type { TrainConfig } from '../config';
import { runTraining, type RunDeps, type RunOutcome } from '../pipeline/run-training';
import type { RunTracking } from '../tracking/run-tracking';
import type { ParamValue, RunStatus } from '../tracking/tracker';
import { UserError } from '../user-error';
import { writeComparison, type ComparisonResult } from '../compare/write-comparison';
import { GROUP_KIND_TAG } from '../compare/run-summary';
import { reviewLabels, type LabelReviewResult } from './label-review';

/** Trainings run together and compared: a sweep's cells, or a cross-validation's folds. */
export interface Group {
  readonly kind: 'sweep' | 'cross-validation';
  /** The group's run name and folder name, e.g. `sweep-20261130-101500-ab12` or `20261130-101500-compact-cv3`. */
  readonly name: string;
  /** Where the group's folder goes: `<out>/<name>/`, holding one folder per member and the comparison. */
  readonly out: string;
  readonly description: string;
  /** What the group is, as MLflow params of its parent run: the options all members share, the axes. */
  readonly params: Readonly<Record<string, ParamValue>>;
  readonly members: readonly GroupMember[];
}

export interface GroupMember {
  /** As people read it: `cnn-1 seed=2`, `fold 3`. */
  readonly name: string;
  /** Its run name and folder inside the group's. */
  readonly runName: string;
  readonly config: TrainConfig;
  /** What sets it apart from the others (`model`, `seed`, `cvFold`...), as tags of its run. */
  readonly varied: Readonly<Record<string, string>>;
}

export interface MemberResult {
  readonly member: GroupMember;
  readonly outcome?: RunOutcome;
  /** Why it has no outcome: its error, or that the group was stopped before it started. */
  readonly error?: string;
}

export interface GroupOutcome {
  readonly folder: string;
  readonly status: RunStatus;
  readonly results: readonly MemberResult[];
  readonly comparison: ComparisonResult;
  /** Tracking calls MLflow did not receive, in the group's own outbox. */
  readonly unsynced?: string;
}

const NOT_STARTED = 'not started: the group was stopped';

/** Tags of the parent and members, for finding a group's runs in MLflow. */
export const GROUP_TAGS = { kind: GROUP_KIND_TAG, name: 'malaria.group', member: 'malaria.group_member' } as const;

/**
 * Runs the members one after another on this machine, each a child run of the group's parent run
 * (in MLflow: nested under it), then compares them: a report in the group's folder, and the summary
 * metrics (mean and standard deviation of each test metric) on the parent. A failing member does
 * not stop the others; a stop request (Ctrl-C) stops the one in flight and skips the rest.
 */
export async function runGroup(group: Group, deps: RunDeps): Promise<GroupOutcome> {
  const folder = join(group.out, group.name);
  const parent = deps.openTracking({ runDir: folder });
  await parent.startRun({
    runName: group.name,
    runDir: folder,
    description: group.description,
    tags: { [GROUP_TAGS.kind]: group.kind, [GROUP_TAGS.name]: group.name },
  });
  await parent.logParams(group.params);
  // A second Ctrl-C exits at once: the parent run is ended (KILLED) on the way out, never left RUNNING.
  const forgetForcedExit = deps.stop?.onForcedExit(() => parent.endAtOnce('stopped at once by a second interrupt'));
  try {
    return await runMembers(group, folder, parent, deps);
  } finally {
    forgetForcedExit?.();
  }
}

async function runMembers(group: Group, folder: string, parent: RunTracking, deps: RunDeps): Promise<GroupOutcome> {
  const results: MemberResult[] = [];
  for (const [i, member] of group.members.entries()) {
    if (deps.stop?.signal.aborted) {
      results.push({ member, error: NOT_STARTED });
      continue;
    }
    deps.log(`${group.kind} ${group.name}: ${i + 1} of ${group.members.length}, ${member.name}`);
    try {
      const outcome = await runTraining(member.config, {
        ...deps,
        // Each member checkpoints in a folder of its own, so a restarted group resumes each where it stopped.
        checkpoints: member.config.checkpointUri ? createCheckpointStore(member.config.checkpointUri) : undefined,
        member: {
          runName: member.runName,
          folder,
          parentRunId: parent.server?.runId,
          tags: memberTags(group.name, member),
        },
      });
      results.push({ member, outcome });
    } catch (error) {
      // Bad input is the same for every member: stop at the first, as a single run would.
      if (error instanceof UserError && results.every((r) => !r.outcome)) {
        await endGroup(parent, 'FAILED', deps, error.message);
        throw error;
      }
      const message = error instanceof Error ? error.message : String(error);
      deps.log(`${member.name} failed: ${message}; going on with the others`);
      results.push({ member, error: message });
    }
  }
  const review = group.kind === 'cross-validation' ? await labelReview(folder, group, results, deps.log) : undefined;
  deps.stop?.describeStop(`the trainings are over: writing the comparison${parent.server ? ', then no more waiting for MLflow' : ''}`);
  const comparison = await writeComparison(folder, results.filter((r) => r.outcome).map((r) => r.outcome!.runDir), {
    title: `${group.kind === 'sweep' ? 'Sweep' : 'Cross-validation'} ${group.name}`,
    missing: results.filter((r) => !r.outcome).map((r) => ({ name: r.member.name, reason: r.error ?? '' })),
    sections: review ? [review.section] : undefined,
  });
  for (const warning of comparison.warnings) deps.log(`warning: ${warning}`);
  deps.log(`comparison: ${comparison.report}`);
  const finished = results.filter((r) => r.outcome?.status === 'FINISHED').length;
  // Stopped only while MLflow was being waited for, every member finished: the group did not stop.
  const stopped = results.some((r) => r.outcome?.status === 'KILLED' || (!r.outcome && r.error === NOT_STARTED));
  const status: RunStatus = stopped ? 'KILLED' : finished === 0 ? 'FAILED' : 'FINISHED';
  const unsynced = await endGroup(parent, status, deps, status === 'FAILED' ? 'no member finished' : undefined, { ...comparison.summary, ...review?.metrics });
  return { folder, status, results, comparison, unsynced };
}

/**
 * A cross-validation's suspected label errors (label-review.ts), from the folds that finished. The
 * folds' runs are kept whatever happens here: a review that fails is a warning, and the report is
 * written without its section.
 */
async function labelReview(
  folder: string, group: Group, results: readonly MemberResult[], log: (line: string) => void,
): Promise<LabelReviewResult | undefined> {
  const folds = results.flatMap((r) => (r.outcome ? [{ name: r.member.name, dir: r.outcome.runDir }] : []));
  if (folds.length === 0) return undefined;
  try {
    // The members differ in their fold only; the data and seed the review reads are the same for all.
    return await reviewLabels(folder, folds, group.members[0].config, log);
  } catch (error) {
    log(`warning: no suspected label errors in the report: ${(error as Error).message}`);
    return undefined;
  }
}

/** Members that failed or were not started: a group that had them ends with a non-zero exit code. */
export function failedMembers(outcome: GroupOutcome): number {
  return outcome.results.filter((r) => !r.outcome || r.outcome.status === 'FAILED').length;
}

/** Tags of a member's run: its group, its name in the group, and what sets it apart. */
export function memberTags(groupName: string, member: Pick<GroupMember, 'name' | 'varied'>): Record<string, string> {
  return { [GROUP_TAGS.name]: groupName, [GROUP_TAGS.member]: member.name, ...member.varied };
}

function endGroup(
  parent: RunTracking, status: RunStatus, deps: RunDeps, error?: string, summary?: Record<string, number>,
): Promise<string | undefined> {
  return parent.endRunKeepingUnsent({ status, error, testMetrics: summary }, deps.log);
}
