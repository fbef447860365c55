import { z } from 'zod';

/**
 * Response shapes of MLflow 3.11's REST API, as the server sends them (see
 * shared/mlflow-contract/). The server leaves out empty fields, so lists default to [].
 */

/** int64 fields: numbers in practice, strings in protobuf's canonical JSON. */
const int64 = z.union([z.number(), z.string().regex(/^-?\d+$/)]).transform(Number);
/** Doubles: protobuf's JSON spells non-finite values as strings. */
export const double = z.union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number)]);

export const KeyValueSchema = z.object({ key: z.string(), value: z.string().default('') });
export type KeyValue = z.infer<typeof KeyValueSchema>;

export const ExperimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: z.string().optional(),
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: z.array(KeyValueSchema).default([]),
});
export type Experiment = z.infer<typeof ExperimentSchema>;

export const RUN_STATUSES = ['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'] as const;
export type MlflowRunStatus = (typeof RUN_STATUSES)[number];

export const RunInfoSchema = z.object({
  run_id: z.string(),
  run_uuid: z.string().optional(),
  experiment_id: z.string(),
  run_name: z.string().optional(),
  user_id: z.string().default(''),
  status: z.enum(RUN_STATUSES),
  start_time: int64.optional(),
  end_time: int64.optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.string().default('active'),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

export const MetricSchema = z.object({ key: z.string(), value: double, timestamp: int64, step: int64.default(0) });
export type Metric = z.infer<typeof MetricSchema>;

export const DatasetSchema = z.object({
  name: z.string(),
  digest: z.string(),
  source_type: z.string(),
  source: z.string(),
  schema: z.string().optional(),
  profile: z.string().optional(),
});
export type Dataset = z.infer<typeof DatasetSchema>;

export const DatasetInputSchema = z.object({ tags: z.array(KeyValueSchema).default([]), dataset: DatasetSchema });
export type DatasetInputEntry = z.infer<typeof DatasetInputSchema>;

export const ModelOutputSchema = z.object({ model_id: z.string(), step: int64.default(0) });

export const RunSchema = z.object({
  info: RunInfoSchema,
  data: z
    .object({
      metrics: z.array(MetricSchema).default([]),
      params: z.array(KeyValueSchema).default([]),
      tags: z.array(KeyValueSchema).default([]),
    })
    .default({ metrics: [], params: [], tags: [] }),
  inputs: z.object({ dataset_inputs: z.array(DatasetInputSchema).default([]) }).default({ dataset_inputs: [] }),
  /** MLflow 3: the logged models the run produced. */
  outputs: z.object({ model_outputs: z.array(ModelOutputSchema).default([]) }).default({ model_outputs: [] }),
});
export type Run = z.infer<typeof RunSchema>;

export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

/** MLflow 3's first-class model: its own id (`m-...`), artifact location and status. */
export const LoggedModelSchema = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string(),
    artifact_uri: z.string(),
    status: z.enum(LOGGED_MODEL_STATUSES),
    model_type: z.string().optional(),
    source_run_id: z.string().optional(),
    creation_timestamp_ms: int64.optional(),
    tags: z.array(KeyValueSchema).default([]),
  }),
  data: z
    .object({
      params: z.array(KeyValueSchema).default([]),
      metrics: z.array(MetricSchema.extend({ model_id: z.string().optional(), dataset_name: z.string().optional(), dataset_digest: z.string().optional() })).default([]),
    })
    .default({ params: [], metrics: [] }),
});
export type LoggedModel = z.infer<typeof LoggedModelSchema>;

export const MODEL_VERSION_STATUSES = ['PENDING_REGISTRATION', 'FAILED_REGISTRATION', 'READY'] as const;

export const ModelVersionSchema = z.object({
  name: z.string(),
  version: z.string(),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  current_stage: z.string().optional(),
  description: z.string().optional(),
  source: z.string(),
  run_id: z.string().optional(),
  status: z.enum(MODEL_VERSION_STATUSES),
  status_message: z.string().optional(),
  run_link: z.string().optional(),
  aliases: z.array(z.string()).default([]),
});
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const RegisteredModelSchema = z.object({
  name: z.string(),
  creation_timestamp: int64.optional(),
  last_updated_timestamp: int64.optional(),
  description: z.string().optional(),
  latest_versions: z.array(ModelVersionSchema).default([]),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })).default([]),
});
export type RegisteredModel = z.infer<typeof RegisteredModelSchema>;

export const FileInfoSchema = z.object({ path: z.string(), is_dir: z.boolean().default(false), file_size: int64.optional() });
export type FileInfo = z.infer<typeof FileInfoSchema>;

export const Responses = {
  experimentId: z.object({ experiment_id: z.string() }),
  experiment: z.object({ experiment: ExperimentSchema }),
  experiments: z.object({ experiments: z.array(ExperimentSchema).default([]), next_page_token: z.string().optional() }),
  run: z.object({ run: RunSchema }),
  runInfo: z.object({ run_info: RunInfoSchema }),
  runs: z.object({ runs: z.array(RunSchema).default([]), next_page_token: z.string().optional() }),
  metricHistory: z.object({ metrics: z.array(MetricSchema).default([]), next_page_token: z.string().optional() }),
  empty: z.object({}),
  registeredModel: z.object({ registered_model: RegisteredModelSchema }),
  registeredModels: z.object({ registered_models: z.array(RegisteredModelSchema).default([]), next_page_token: z.string().optional() }),
  modelVersion: z.object({ model_version: ModelVersionSchema }),
  modelVersions: z.object({ model_versions: z.array(ModelVersionSchema).default([]), next_page_token: z.string().optional() }),
  downloadUri: z.object({ artifact_uri: z.string() }),
  loggedModel: z.object({ model: LoggedModelSchema }),
  loggedModels: z.object({ models: z.array(LoggedModelSchema).default([]), next_page_token: z.string().optional() }),
  artifactList: z.object({ root_uri: z.string().optional(), files: z.array(FileInfoSchema).default([]), next_page_token: z.string().optional() }),
} as const;
