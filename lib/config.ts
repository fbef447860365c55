import { z } from 'zod';
import { closestMatch } from '../trainer/src/option-problems';
import { UserError } from '../trainer/src/user-error';
import { IMAGE_BUILDS, type ImageBuild } from './container-image';
import { prebuiltImageProblem } from './prebuilt-image';
import { SWEEP_INSTANCE_SIZES } from './gpu-instance-sizes';
import { parseCloudTrainOptions, TRAINER_MODELS, type CloudTrainOptions } from './run-options';

/**
 * Instance families the trainer can use: NVIDIA GPUs on x86_64 that the Deep Learning Base OSS
 * Nvidia Driver AMI supports and CUDA 11.x (tfjs-node-gpu 4.22) runs: T4, A10G, L4, L40S, A100,
 * H100/H200. Left out: g5g (Arm), g4ad (AMD), p3 (dropped by the AMI's driver), p6 (Blackwell
 * needs CUDA 12).
 */
export const GPU_INSTANCE_FAMILIES = ['g4dn', 'g5', 'g6', 'g6e', 'gr6', 'p4d', 'p4de', 'p5', 'p5e', 'p5en'] as const;

/** The public SSM parameter with the latest Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04). */
export const TRAINER_AMI_PARAMETER = '/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id';

/** Everything one deployment is made of; read once in bin/ and handed to the stacks. */
export interface DeploymentConfig {
  /** Suffix of every stack name, so several people can deploy side by side in one account. */
  readonly envName: string;
  /** IPv4 CIDRs that may reach the MLflow UI from the internet; empty: no public load balancer at all. */
  readonly allowedCidrs: readonly string[];
  /** The confirmation that `allowedCidrs` may be 0.0.0.0/0 (lib/internet-exposure.ts says what that opens). */
  readonly openToInternet: boolean;
  /** ACM certificate for HTTPS on the public load balancer. */
  readonly certificateArn?: string;
  /** The name people use for MLflow (a DNS record of yours pointing at the public load balancer). */
  readonly domainName?: string;
  readonly instanceType: string;
  readonly spot: boolean;
  /** Hard limit for one trainer instance; then it powers off, whatever it is doing. */
  readonly maxRuntimeMinutes: number;
  readonly rootVolumeGiB: number;
  /** Keep the bucket and a final database snapshot on `cdk destroy`. */
  readonly retainData: boolean;
  /** Start a training run when a deploy changes the trainer image or the run configuration. */
  readonly trainOnDeploy: boolean;
  /** The options of a deploy-started run (model, epochs and trainOptions merged). */
  readonly train: CloudTrainOptions;
  /** Serve the registry's `champion` model on Fargate behind MLflow's load balancers, under /model. */
  readonly serve: boolean;
  /** Where the two images come from: prebuilt (digest-pinned) ones, else built locally or in CodeBuild. */
  readonly images: {
    readonly trainer?: string;
    readonly mlflow?: string;
    readonly build: ImageBuild;
  };
  /** Who is e-mailed each run's outcome (an SNS topic with this subscription). */
  readonly notifyEmail?: string;
  /** Instance type of sweep children (AWS Batch); one child per GPU. */
  readonly sweepInstanceType: string;
  /** At most this many sweep instances at once: the compute environment's ceiling. */
  readonly sweepMaxInstances: number;
}

// Context from `-c key=value` arrives as strings, from cdk.json as JSON values: accept both.
const fromString = (parse: (raw: string) => unknown) => (value: unknown) => (typeof value === 'string' ? parse(value) : value);
const flag = z.preprocess(fromString((raw) => (raw === 'true' ? true : raw === 'false' ? false : raw)),
  z.boolean({ error: 'must be true or false' }));
const integer = (min: number, max: number) => z.preprocess(fromString((raw) => (raw.trim() === '' ? raw : Number(raw))),
  z.number({ error: `must be a whole number from ${min} to ${max}` }).int({ error: `must be a whole number from ${min} to ${max}` })
    .min(min, { error: `must be a whole number from ${min} to ${max}` }).max(max, { error: `must be a whole number from ${min} to ${max}` }));
const list = z.preprocess(fromString((raw) => (raw.trim().startsWith('[') ? safeJson(raw) : raw.split(',').map((s) => s.trim()).filter(Boolean))),
  z.array(z.string(), { error: 'must be a list of CIDRs (JSON array in cdk.json, comma-separated with -c)' }));
const object = z.preprocess(fromString(safeJson), z.record(z.string(), z.unknown(), { error: 'must be a JSON object of trainer options' }));

function safeJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

const ContextSchema = z.object({
  env: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, { error: 'must be 1-20 lower-case letters, digits or dashes, starting with a letter' }).default('dev'),
  allowedCidrs: list.default([]),
  certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, {
    error: 'must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)',
  }).optional(),
  domainName: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, { error: 'must be a lower-case DNS name such as mlflow.example.com' }).optional(),
  instanceType: z.string().default('g4dn.xlarge'),
  spot: flag.default(false),
  maxRuntimeMinutes: integer(15, 2880).default(240),
  rootVolumeGiB: integer(100, 2000).default(100),
  retainData: flag.default(false),
  // Off by default: a deploy that starts a paid GPU run should be something one asks for.
  trainOnDeploy: flag.default(false),
  model: z.enum(TRAINER_MODELS, { error: `must be one of ${TRAINER_MODELS.join(', ')}` }).default('compact'),
  epochs: integer(1, 10000).default(10),
  trainOptions: object.default({}),
  serve: flag.default(false),
  openToInternet: flag.default(false),
  trainerImage: z.string().optional(),
  mlflowImage: z.string().optional(),
  imageBuild: z.enum(IMAGE_BUILDS, { error: `must be one of ${IMAGE_BUILDS.join(', ')} (how images are built when no prebuilt one is named)` }).default('local'),
  notifyEmail: z.string().regex(/^[^@\s,]+@[^@\s,]+\.[a-z]{2,}$/i, { error: 'must be one e-mail address, such as team@example.com' }).optional(),
  sweepInstanceType: z.string().default('g4dn.xlarge'),
  sweepMaxInstances: integer(1, 100).default(4),
});

/** The context keys this app reads, with their defaults, for messages and docs. */
export const CONFIG_KEYS = Object.keys(ContextSchema.shape);

/**
 * Reads and validates the deployment configuration from CDK context (cdk.json plus `-c` overrides).
 * Every problem is reported at once, each naming the key, the value and what is accepted.
 */
export function loadConfig(context: Record<string, unknown>): DeploymentConfig {
  const problems: string[] = [];
  const show = (key: string) => `${key} = ${JSON.stringify(context[key])}`;
  // CDK's own context (feature flags, lookups) has colons, slashes or dashes in its keys; a plain
  // camelCase key that is not ours is most likely a typo.
  const unknown = Object.keys(context).filter((key) => /^[a-z][a-zA-Z0-9]*$/.test(key) && !CONFIG_KEYS.includes(key));
  problems.push(...unknown.map((key) => {
    const near = closestMatch(key, CONFIG_KEYS);
    return `${show(key)}: unknown key; ${near ? `did you mean ${near}? ` : ''}accepted keys: ${CONFIG_KEYS.join(', ')}`;
  }));

  const parsed = ContextSchema.safeParse(context);
  if (!parsed.success) {
    problems.push(...parsed.error.issues.map((issue) => `${show(String(issue.path[0]))}: ${issue.message}`));
    throw configError(problems);
  }
  const c = parsed.data;
  problems.push(...c.allowedCidrs.flatMap((cidr) => cidrProblem(cidr)).map((p) => `allowedCidrs: ${p}`));
  if (c.allowedCidrs.includes(WHOLE_INTERNET) && !c.openToInternet) {
    problems.push(`allowedCidrs: ${WHOLE_INTERNET} puts MLflow's login page and the model server on the whole internet; `
      + 'name your own addresses (e.g. 203.0.113.7/32), or confirm it with -c openToInternet=true');
  }
  for (const key of ['trainerImage', 'mlflowImage'] as const) {
    const problem = c[key] === undefined ? undefined : prebuiltImageProblem(c[key]);
    if (problem) problems.push(`${show(key)}: ${problem}`);
  }
  const typeProblem = gpuInstanceTypeProblem(c.instanceType);
  if (typeProblem) problems.push(`${show('instanceType')}: ${typeProblem}`);
  if (!Object.hasOwn(SWEEP_INSTANCE_SIZES, c.sweepInstanceType)) {
    problems.push(`${show('sweepInstanceType')}: must be one of ${Object.keys(SWEEP_INSTANCE_SIZES).join(', ')} `
      + '(NVIDIA GPU types whose size the sweep job definition is fitted to)');
  }
  if (c.certificateArn && !c.allowedCidrs.length) {
    problems.push('certificateArn: HTTPS is for the public load balancer, which exists only with allowedCidrs; set allowedCidrs too');
  }
  if (c.certificateArn && !c.domainName) {
    problems.push('certificateArn: set domainName to the name on the certificate (MLflow only answers to names it knows)');
  }
  if (c.domainName && !c.allowedCidrs.length) problems.push('domainName: needs allowedCidrs (the public load balancer it names)');

  let train: CloudTrainOptions = { model: c.model, epochs: c.epochs };
  try {
    const conflicting = ['model', 'epochs'].filter((key) => Object.hasOwn(c.trainOptions, key));
    problems.push(...conflicting.map((key) => `trainOptions.${key}: set it with the ${key} key instead`));
    const rest = Object.fromEntries(Object.entries(c.trainOptions).filter(([key]) => !conflicting.includes(key)));
    train = { ...parseCloudTrainOptions(rest, (key) => `trainOptions.${key}`), ...train };
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    problems.push(...error.message.split('\n').slice(1).map((line) => line.trim()));
  }
  if (problems.length) throw configError(problems);

  return {
    envName: c.env,
    allowedCidrs: c.allowedCidrs,
    openToInternet: c.openToInternet,
    ...(c.certificateArn ? { certificateArn: c.certificateArn } : {}),
    ...(c.domainName ? { domainName: c.domainName } : {}),
    instanceType: c.instanceType,
    spot: c.spot,
    maxRuntimeMinutes: c.maxRuntimeMinutes,
    rootVolumeGiB: c.rootVolumeGiB,
    retainData: c.retainData,
    trainOnDeploy: c.trainOnDeploy,
    train,
    serve: c.serve,
    images: {
      ...(c.trainerImage ? { trainer: c.trainerImage } : {}),
      ...(c.mlflowImage ? { mlflow: c.mlflowImage } : {}),
      build: c.imageBuild,
    },
    ...(c.notifyEmail ? { notifyEmail: c.notifyEmail } : {}),
    sweepInstanceType: c.sweepInstanceType,
    sweepMaxInstances: c.sweepMaxInstances,
  };
}

function configError(problems: readonly string[]): UserError {
  return new UserError(`invalid configuration (cdk.json "context" or -c key=value):\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/** The one CIDR that needs `openToInternet` to confirm it. */
export const WHOLE_INTERNET = '0.0.0.0/0';

/** Why a string is not a usable IPv4 CIDR for a security group rule, or nothing when it is. */
export function cidrProblem(cidr: string): string[] {
  if (cidr.includes(':')) {
    return [`"${cidr}" is IPv6; the load balancer is IPv4 only${cidr === '::/0' ? ' (and ::/0 would be the whole internet)' : ''}: name IPv4 CIDRs such as 203.0.113.7/32`];
  }
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const bits = match ? Number(match[5]) : NaN;
  if (!match || octets.some((o) => o > 255) || bits > 32) {
    return [`"${cidr}" is not an IPv4 CIDR such as 203.0.113.7/32 (the load balancer is IPv4 only)`];
  }
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - bits);
  const network = address - (address % size);
  if (network !== address) {
    const fixed = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
    return [`"${cidr}" has host bits set; did you mean ${fixed}/${bits}?`];
  }
  return [];
}

/** Why an instance type cannot run the trainer, or undefined when it can. */
export function gpuInstanceTypeProblem(instanceType: string): string | undefined {
  const match = /^([a-z0-9]+)\.(\d*xlarge|metal)$/.exec(instanceType);
  if (match && (GPU_INSTANCE_FAMILIES as readonly string[]).includes(match[1])) return undefined;
  return `must be an NVIDIA GPU instance type of family ${GPU_INSTANCE_FAMILIES.join(', ')} (for example g4dn.xlarge)`;
}
