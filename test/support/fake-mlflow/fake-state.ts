/** What the fake MLflow server holds; tests read it to check what the client sent. */

export interface FakeExperiment {
  experiment_id: string;
  name: string;
  artifact_location: string;
  lifecycle_stage: 'active' | 'deleted';
  creation_time: number;
  last_update_time: number;
  tags: { key: string; value: string }[];
}

export interface FakeMetric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

export interface FakeDatasetInput {
  tags: { key: string; value: string }[];
  dataset: { name: string; digest: string; source_type: string; source: string; schema?: string; profile?: string };
}

export interface FakeRun {
  info: {
    run_uuid: string;
    run_id: string;
    experiment_id: string;
    run_name: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: 'active' | 'deleted';
  };
  params: Map<string, string>;
  tags: Map<string, string>;
  /** Every value ever logged, in arrival order (the metric history). */
  metrics: FakeMetric[];
  inputs: FakeDatasetInput[];
}

export interface FakeModelVersion {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  description: string;
  source: string;
  run_id: string;
  status: 'PENDING_REGISTRATION' | 'READY';
  run_link: string;
  /** GETs left before PENDING_REGISTRATION turns READY. */
  pendingPolls: number;
}

export interface FakeRegisteredModel {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description?: string;
  aliases: Map<string, string>;
  versions: FakeModelVersion[];
}

export interface RecordedRequest {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly query: Record<string, string>;
  /** Parsed JSON body, or undefined. */
  readonly body: unknown;
  /** Raw body size (artifact uploads). */
  readonly bytes: number;
  /** The status the fake answered. */
  status?: number;
}

export interface FakeMlflowState {
  readonly experiments: Map<string, FakeExperiment>;
  readonly runs: Map<string, FakeRun>;
  readonly models: Map<string, FakeRegisteredModel>;
  /** Proxied artifacts, keyed by their path under /api/2.0/mlflow-artifacts/artifacts/. */
  readonly artifacts: Map<string, Buffer>;
  readonly requests: RecordedRequest[];
}

export function emptyState(now: number): FakeMlflowState {
  const experiments = new Map<string, FakeExperiment>();
  experiments.set('0', {
    experiment_id: '0',
    name: 'Default',
    artifact_location: '',
    lifecycle_stage: 'active',
    creation_time: now,
    last_update_time: now,
    tags: [],
  });
  return { experiments, runs: new Map(), models: new Map(), artifacts: new Map(), requests: [] };
}

/** MLflow's latest value of a metric: highest step, then latest timestamp, then largest value. */
export function latestMetrics(run: FakeRun): FakeMetric[] {
  const latest = new Map<string, FakeMetric>();
  for (const m of run.metrics) {
    const cur = latest.get(m.key);
    const newer = !cur || m.step > cur.step || (m.step === cur.step && (m.timestamp > cur.timestamp || (m.timestamp === cur.timestamp && m.value > cur.value)));
    if (newer) latest.set(m.key, m);
  }
  return [...latest.values()];
}
