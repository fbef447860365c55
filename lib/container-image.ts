import { DockerImageAsset, Platform } from 'aws-cdk-lib/aws-ecr-assets';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { CodeBuildImage } from './codebuild-image';
import { parsePrebuiltImage } from './prebuilt-image';

/** Where the stacks' images come from when no prebuilt one is named: Docker on the deploying machine, or CodeBuild. */
export const IMAGE_BUILDS = ['local', 'codebuild'] as const;
export type ImageBuild = (typeof IMAGE_BUILDS)[number];

export interface ContainerImageSourceProps {
  /** The build context. */
  readonly directory: string;
  /** @default 'Dockerfile' in `directory` */
  readonly file?: string;
  /**
   * Kept out of the build context, on top of its .dockerignore.
   * @default none
   */
  readonly exclude?: readonly string[];
  /**
   * A prebuilt image, `<registry>/<repository>@sha256:…` (lib/prebuilt-image.ts); then nothing is built.
   * @default built from `directory`
   */
  readonly prebuilt?: string;
  /**
   * How to build when there is no prebuilt image.
   * @default 'local'
   */
  readonly build?: ImageBuild;
}

/**
 * One image the stacks run, whichever way it is made: `local` is a CDK Docker image asset (Docker
 * on the deploying machine), `codebuild` builds in AWS (codebuild-image.ts), and a prebuilt image
 * is used as given. With a prebuilt image the template has no container asset, so `cdk deploy`
 * needs no Docker at all.
 */
export class ContainerImageSource extends Construct {
  /** What a container runtime pulls: a digest-pinned reference, or the local asset's URI. */
  public readonly uri: string;
  /** For ECS task definitions; pulling is granted to the task's execution role. */
  public readonly ecsImage: ecs.ContainerImage;
  /** Changes exactly when the image does (asset hash, source fingerprint or digest), known at synth. */
  public readonly fingerprint: string;
  private readonly repository?: ecr.IRepository;

  constructor(scope: Construct, id: string, props: ContainerImageSourceProps) {
    super(scope, id);
    if (props.prebuilt) {
      const image = parsePrebuiltImage(props.prebuilt);
      this.uri = image.uri;
      this.fingerprint = image.digest;
      if (image.ecr) {
        const { account, region, repositoryName, partitionSuffix } = image.ecr;
        const partition = partitionSuffix === '.cn' ? 'aws-cn' : 'aws';
        this.repository = ecr.Repository.fromRepositoryAttributes(this, 'Repository', {
          repositoryArn: `arn:${partition}:ecr:${region}:${account}:repository/${repositoryName}`,
          repositoryName,
        });
      }
    } else if (props.build === 'codebuild') {
      const image = new CodeBuildImage(this, 'CodeBuild', { directory: props.directory, file: props.file, exclude: props.exclude });
      this.uri = image.uri;
      this.fingerprint = image.fingerprint;
      this.repository = image.repository;
    } else {
      const asset = new DockerImageAsset(this, 'Asset', {
        directory: props.directory,
        file: props.file,
        platform: Platform.LINUX_AMD64,
        exclude: props.exclude ? [...props.exclude] : undefined,
      });
      this.uri = asset.imageUri;
      this.fingerprint = asset.assetHash;
      this.repository = asset.repository;
    }
    this.ecsImage = new PinnedImage(this.uri, this.repository);
  }

  /** Lets `grantee` pull the image (nothing to grant for a public registry). */
  public grantPull(grantee: iam.IGrantable): void {
    this.repository?.grantPull(grantee);
  }
}

/** An image by its full reference, pull granted on its ECR repository when it has one. */
class PinnedImage extends ecs.ContainerImage {
  constructor(private readonly uri: string, private readonly repository?: ecr.IRepository) {
    super();
  }

  public bind(_scope: Construct, container: ecs.ContainerDefinition): ecs.ContainerImageConfig {
    this.repository?.grantPull(container.taskDefinition.obtainExecutionRole());
    return { imageName: this.uri };
  }
}
