import { kebab, negatedFlag, TrainConfigSchema, type TrainConfig } from '../config';
import { escapeHtml } from './html';

/** What decides whether an option did anything in a run, besides the other options. */
export interface OptionContext {
  /** The data as resolved from --data (`synthetic:2000` for `synthetic`). */
  readonly data: string;
  /** The TF.js backend that ran (BackendInfo.name). */
  readonly backend: string;
  /** Whether the run was logged to MLflow. */
  readonly tracked: boolean;
}

type Option = keyof TrainConfig;

/**
 * Options that only act with others: a run's report leaves them out where they did nothing. An
 * option not named here always applies (unset optional options are left out anyway).
 */
const APPLIES: Partial<Record<Option, (options: TrainConfig, run: OptionContext) => boolean>> = {
  lrPatience: (o) => o.lrSchedule === 'plateau',
  lrFactor: (o) => o.lrSchedule === 'plateau',
  threads: (_, run) => run.backend === 'wasm',
  freezeBase: (o) => o.model === 'vgg16' && o.weights !== undefined,
  split: (o) => o.splitFrom === undefined,
  splitFractions: (o) => o.splitFrom === undefined,
  cacheDir: (o, run) => /^(https?:|synthetic)/i.test(run.data) || o.weights !== undefined,
  datasetCache: (_, run) => run.data === TrainConfigSchema.shape.data.parse(undefined),
  registerModel: (_, run) => run.tracked,
  championMetric: (_, run) => run.tracked,
};

const DEFAULTS: Readonly<Record<string, unknown>> = TrainConfigSchema.parse({});

/** One option as a user types it, with what it does. */
export interface TypedOption {
  readonly key: Option;
  /** `--batch-size 64`, `--no-augment`, `--split-fractions 0.7,0.1,0.2`. */
  readonly typed: string;
  /** Differs from the default: what a command must type to train the same way. */
  readonly changed: boolean;
  readonly description: string;
}

/**
 * The options a run trained with, as flags, in the order of `--help`: only those that applied, the
 * data as it was resolved. A switch that is off by default shows only when it was turned on.
 */
export function typedOptions(options: TrainConfig, run: OptionContext): TypedOption[] {
  const values: Record<string, unknown> = { ...options, data: run.data };
  const rows: TypedOption[] = [];
  for (const key of Object.keys(TrainConfigSchema.shape) as Option[]) {
    const value = values[key];
    if (value === undefined || APPLIES[key]?.(options, run) === false) continue;
    if (value === false && DEFAULTS[key] !== true) continue;
    const text = Array.isArray(value) ? value.join(',') : String(value);
    const typed = value === true ? `--${kebab(key)}` : value === false ? negatedFlag(key) : `--${kebab(key)} ${shellWord(text)}`;
    const changed = JSON.stringify(value) !== JSON.stringify(DEFAULTS[key]);
    rows.push({ key, typed, changed, description: TrainConfigSchema.shape[key].description ?? '' });
  }
  return rows;
}

/** The command that trains the same way: the options that differ from their defaults. */
export function trainCommand(rows: readonly TypedOption[]): string {
  return ['npm run train --', ...rows.filter((row) => row.changed).map((row) => row.typed)].join(' ');
}

/** `value`, or in single quotes when a shell would split or expand it. */
function shellWord(value: string): string {
  return /^[\w@%+=:,./~-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The options section's body: the command, then every option that applied with what it does. */
export function optionsHtml(rows: readonly TypedOption[]): string {
  const lines = rows.map((row) => `<tr${row.changed ? ' class="changed"' : ''}><td class="option"><code>${escapeHtml(row.typed)}</code></td>`
    + `<td>${row.changed ? 'changed' : 'default'}</td><td>${escapeHtml(row.description)}</td></tr>`);
  return `<p>To train the same way again (the options that differ from their defaults):</p>
<pre><code>${escapeHtml(trainCommand(rows))}</code></pre>
<p class="note">Every option that applied to this run; options that had no effect (such as <code>--lr-patience</code>
without <code>--lr-schedule plateau</code>) are left out.</p>
<table><thead><tr><th>Option</th><th></th><th>What it does</th></tr></thead><tbody>
${lines.join('\n')}
</tbody></table>`;
}
