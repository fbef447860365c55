import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledgeWildcardResource } from './nag-acknowledgements';

/** The bucket's top-level folders; each reader or writer is granted only its own. */
export const BUCKET_PREFIXES = {
  /** MLflow's artifact store (written by the MLflow server only, clients go through its proxy). */
  mlflowArtifacts: 'mlflow-artifacts',
  /** The NIH zip and decoded-image caches the trainer keeps between runs. */
  datasets: 'datasets',
  /** Per-epoch checkpoints, one folder per run. */
  checkpoints: 'checkpoints',
  /** One folder per sweep: its plan (written by the launcher) and its MLflow parent run. */
  sweeps: 'sweeps',
} as const;

const READ_ACTIONS = ['s3:GetObject'];
const WRITE_ACTIONS = ['s3:PutObject', 's3:AbortMultipartUpload'];
const DELETE_ACTIONS = ['s3:DeleteObject'];

export interface ArtifactBucketProps {
  /**
   * Keep both buckets (and their objects) on `cdk destroy`.
   * @default false: they are emptied and deleted
   */
  readonly retainData?: boolean;
}

export interface PrefixGrantOptions {
  /** @default false */
  readonly delete?: boolean;
}

/**
 * The S3 bucket behind MLflow's artifacts, the dataset cache and the checkpoints: no public
 * access, TLS only, encrypted (SSE-S3, which the load balancer's log delivery also requires of
 * the log bucket), versioned, with server access logs in a second bucket that also receives the
 * load balancers' access logs. Old object versions expire, so checkpoints rewritten every epoch
 * do not pile up.
 */
export class ArtifactBucket extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: ArtifactBucketProps = {}) {
    super(scope, id);
    const removal = props.retainData
      ? { removalPolicy: RemovalPolicy.RETAIN, autoDeleteObjects: false }
      : { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true };
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      ...removal,
    };

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the access-log bucket itself; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 's3/',
      lifecycleRules: [
        { abortIncompleteMultipartUploadAfter: Duration.days(1), noncurrentVersionExpiration: Duration.days(30) },
        { prefix: `${BUCKET_PREFIXES.checkpoints}/`, noncurrentVersionExpiration: Duration.days(2) },
      ],
    });
  }

  /** An s3:// URI under the bucket, for configuration handed to a program. */
  public uri(prefix: string): string {
    return `s3://${this.bucket.bucketName}/${prefix}`;
  }

  /**
   * Read and write (optionally delete) under one prefix and nothing else, for a principal in this
   * stack. Listing is limited to that prefix where a listing names one; without ListBucket, S3
   * answers 403 instead of 404 for a missing object, and the trainer and MLflow tell "not there
   * yet" from "forbidden" by that.
   */
  public grantPrefix(grantee: iam.IGrantable, prefix: string, options: PrefixGrantOptions = {}): void {
    for (const statement of this.prefixStatements(prefix, options)) grantee.grantPrincipal.addToPrincipalPolicy(statement);
    if (Construct.isConstruct(grantee.grantPrincipal)) this.acknowledgePrefix(grantee.grantPrincipal, prefix);
  }

  /**
   * The same access as a managed policy owned by this bucket's stack, for a role in another
   * stack: the ARNs stay local here, and the other stack only attaches the policy.
   */
  public prefixPolicy(id: string, grants: ReadonlyArray<{ readonly prefix: string } & PrefixGrantOptions>): iam.ManagedPolicy {
    const policy = new iam.ManagedPolicy(this, id, {
      description: `Read/write under ${grants.map((g) => `${g.prefix}/`).join(', ')} of the artifact bucket`,
      statements: grants.flatMap((g) => this.prefixStatements(g.prefix, g)),
    });
    for (const grant of grants) this.acknowledgePrefix(policy, grant.prefix);
    return policy;
  }

  private prefixStatements(prefix: string, options: PrefixGrantOptions): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: [...READ_ACTIONS, ...WRITE_ACTIONS, ...(options.delete ? DELETE_ACTIONS : [])],
        resources: [this.bucket.arnForObjects(`${prefix}/*`)],
      }),
      new iam.PolicyStatement({
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLikeIfExists: { 's3:prefix': [`${prefix}/*`, prefix] } },
      }),
    ];
  }

  private acknowledgePrefix(scope: Construct, prefix: string): void {
    acknowledgeWildcardResource(scope, this.bucket.arnForObjects(`${prefix}/*`),
      `Objects under ${prefix}/ only: the keys below it are created at run time.`);
  }
}
