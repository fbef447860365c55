import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, FileSystem, IgnoreMode, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import * as cr from 'aws-cdk-lib/custom-resources';
import { ContainerImageBuild } from '@cdklabs/deploy-time-build';
import { Construct } from 'constructs';
import { acknowledgeUnscopableActions, acknowledgeWildcardResource } from './nag-acknowledgements';

export interface CodeBuildImageProps {
  /** The build context. Its .dockerignore applies, as it does for a local build. */
  readonly directory: string;
  /** @default 'Dockerfile' in `directory` */
  readonly file?: string;
  /**
   * Paths left out of the uploaded sources and the fingerprint, on top of .dockerignore.
   * @default none
   */
  readonly exclude?: readonly string[];
}

/**
 * Builds an image in AWS instead of on the deploying machine, so a laptop without Docker (or an
 * Arm laptop, which would emulate amd64) can deploy from source: the build context goes up as an
 * S3 asset, a CodeBuild project (x86_64, Docker) builds it and pushes it to an ECR repository of
 * this stack, tagged with the sources' fingerprint, and a lookup turns that tag into the digest the
 * stacks run (`uri` is `<repository>@sha256:…`).
 *
 * The build itself is @cdklabs/deploy-time-build's ContainerImageBuild (a custom resource that
 * starts CodeBuild and answers CloudFormation when the push is done). A build runs when the
 * sources change; a deploy that changes nothing else does not build again.
 */
export class CodeBuildImage extends Construct {
  public readonly repository: ecr.IRepository;
  /** `<repository URI>@sha256:…`, resolved at deploy time. */
  public readonly uri: string;
  /** The sources' fingerprint, known at synth: it changes exactly when the image is rebuilt. */
  public readonly fingerprint: string;

  constructor(scope: Construct, id: string, props: CodeBuildImageProps) {
    super(scope, id);
    const exclude = [...dockerIgnore(props.directory), ...(props.exclude ?? [])];
    this.fingerprint = FileSystem.fingerprint(props.directory, { exclude, ignoreMode: IgnoreMode.DOCKER, extraHash: props.file ?? 'Dockerfile' });
    const stack = Stack.of(this);
    const projectsBefore = new Set(stack.node.children);

    const build = new ContainerImageBuild(this, 'Build', {
      directory: props.directory,
      file: props.file,
      exclude,
      ignoreMode: IgnoreMode.DOCKER,
      platform: Platform.LINUX_AMD64,
      tag: this.fingerprint,
    });
    this.repository = build.repository;

    // ECR answers the tag's digest; the stacks then run that exact image.
    const lookup = new cr.AwsCustomResource(this, 'Digest', {
      resourceType: 'Custom::ImageDigest',
      onUpdate: {
        service: 'ECR',
        action: 'describeImages',
        parameters: { repositoryName: this.repository.repositoryName, imageIds: [{ imageTag: build.imageTag }] },
        physicalResourceId: cr.PhysicalResourceId.of(this.fingerprint),
        outputPaths: ['imageDetails.0.imageDigest'],
      },
      installLatestAwsSdk: false,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['ecr:DescribeImages'], resources: [this.repository.repositoryArn] }),
      ]),
    });
    this.uri = this.repository.repositoryUriForDigest(lookup.getResponseField('imageDetails.0.imageDigest'));

    // The library puts its project and its function at the stack's top level (one per stack).
    const created = stack.node.children.filter((child) => !projectsBefore.has(child));
    const source = build.node.findChild('Source') as s3assets.Asset;
    for (const project of created.filter((c): c is codebuild.Project => c instanceof codebuild.Project)) {
      ownBuildLogs(project);
      acknowledgeProjectGrants(project, source);
    }
    acknowledgeBuildFindings([this, ...created]);
  }
}

/** The patterns of `directory`/.dockerignore, which a local Docker build would apply too. */
function dockerIgnore(directory: string): string[] {
  try {
    return readFileSync(path.join(directory, '.dockerignore'), 'utf8').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  } catch {
    return [];
  }
}

/**
 * CodeBuild would log to `/aws/codebuild/<project>`, a group it creates outside CloudFormation that
 * `cdk destroy` leaves behind; a group of the stack's own takes its place.
 */
function ownBuildLogs(project: codebuild.Project): void {
  const group = new logs.LogGroup(project, 'Logs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
  (project.node.defaultChild as codebuild.CfnProject).addPropertyOverride('LogsConfig.CloudWatchLogs', { Status: 'ENABLED', GroupName: group.logGroupName });
  group.grantWrite(project);
}

/** The wildcards of the grants the library gives its project, each for a reason IAM leaves no way around. */
function acknowledgeProjectGrants(project: codebuild.Project, source: s3assets.Asset): void {
  const stack = Stack.of(project);
  acknowledgeUnscopableActions(project, ['ecr:GetAuthorizationToken (docker login for the push)']);
  for (const action of ['s3:GetObject*', 's3:GetBucket*', 's3:List*']) {
    Validations.of(project).acknowledge({ id: `AwsSolutions-IAM5[Action::${action}]`, reason: "CDK's read grant on the uploaded build sources in the bootstrap bucket, one object key." });
  }
  acknowledgeWildcardResource(project, `arn:${stack.partition}:s3:::${source.s3BucketName}/*`,
    'Read access below the CDK bootstrap bucket, where the build sources are uploaded; their key is a content hash.');
  acknowledgeWildcardResource(project, stack.formatArn({ service: 'codebuild', resource: 'report-group', resourceName: `${project.projectName}-*` }),
    "CodeBuild's default grant for the project's own test-report groups, named after the project; none are used.");
  acknowledgeWildcardResource(project, stack.formatArn({
    service: 'logs', resource: 'log-group', resourceName: `/aws/codebuild/${project.projectName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  }), "CodeBuild's default grant for its default log group's streams; the project logs to the stack's own group instead.");
}

function acknowledgeBuildFindings(scopes: readonly Construct[]): void {
  for (const scope of scopes) {
    const acknowledge = (id: string, reason: string) => Validations.of(scope).acknowledge({ id, reason });
    acknowledge('AwsSolutions-CB3', 'Building a container image needs Docker inside the build, which CodeBuild only runs in privileged mode; the build runs only our Dockerfile.');
    acknowledge('AwsSolutions-CB4', 'The build keeps no artifacts (the image goes to ECR, encrypted by ECR); CodeBuild encrypts its logs and cache with the AWS managed key.');
    acknowledge('AwsSolutions-L1', "@cdklabs/deploy-time-build pins its handler's Node.js runtime; it only starts a build.");
    acknowledge('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      "The build trigger's and the digest lookup's functions only write their own logs with it.");
    acknowledge('AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly]',
      'Read-only pulls of public base images from ECR Public, which the build may use.');
  }
}
