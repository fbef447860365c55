import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { DeploymentConfig } from '../../config';
import type { DockerState } from '../../docker-probe';
import { IMAGES, type ImageName, dockerMissingMessage, imagesBuiltLocally } from '../../local-image-builds';
import { parsePrebuiltImage } from '../../prebuilt-image';
import type { AwsClients } from '../aws-clients';
import type { CheckResult } from './check-result';
import { awsErrorOf, isAccessDenied } from './aws-errors';

interface ImageFinding {
  readonly status: CheckResult['status'];
  readonly summary: string;
  readonly fix?: readonly string[];
}

/** A prebuilt image: in ECR, its digest must be there (in whichever account and region it names); elsewhere it is not looked at. */
async function prebuiltFinding(clients: AwsClients, name: ImageName, uri: string, region: string): Promise<ImageFinding> {
  const image = parsePrebuiltImage(uri);
  const short = `${uri.slice(0, uri.indexOf('@') + 20)}…`;
  if (!image.ecr) return { status: 'pass', summary: `prebuilt ${short} (not in ECR: not looked at here; pulled at run time)` };
  const { account, region: imageRegion, repositoryName } = image.ecr;
  const ecr = imageRegion === region ? clients.ecr : new ECRClient({ region: imageRegion });
  try {
    const response = await ecr.send(new DescribeImagesCommand({ registryId: account, repositoryName, imageIds: [{ imageDigest: image.digest }] }));
    const found = response.imageDetails?.[0];
    const size = found?.imageSizeInBytes ? `, ${(found.imageSizeInBytes / 2 ** 30).toFixed(1)} GiB` : '';
    const pushed = found?.imagePushedAt ? `, pushed ${found.imagePushedAt.toISOString().slice(0, 10)}` : '';
    return { status: 'pass', summary: `prebuilt ${short} is in ECR${pushed}${size}` };
  } catch (error) {
    const { name: code, message } = awsErrorOf(error);
    const key = IMAGES[name].key;
    const instead = `or leave -c ${key} out to build it (Docker here, or -c imageBuild=codebuild)`;
    if (code === 'ImageNotFoundException') {
      return { status: 'fail', summary: `${short}: no image with this digest in ${repositoryName} (account ${account}, ${imageRegion})`, fix: [`push it first (docs/cloud.md, "A CI recipe for prebuilt images"), or name the digest that is there: aws ecr describe-images --region ${imageRegion} --registry-id ${account} --repository-name ${repositoryName}`, instead] };
    }
    if (code === 'RepositoryNotFoundException') {
      return { status: 'fail', summary: `${short}: repository ${repositoryName} does not exist in account ${account}, ${imageRegion}`, fix: [`check -c ${key}, or create the repository and push the image (docs/cloud.md, "A CI recipe for prebuilt images")`, instead] };
    }
    if (isAccessDenied(error) || (error as { $metadata?: unknown }).$metadata) {
      return { status: 'warn', summary: `${short}: could not look in ECR (${code}: ${message})`, fix: ['allow ecr:DescribeImages on the repository (docs/deployer-policy.json has it); another account\'s repository policy must also let this account pull'] };
    }
    throw error;
  }
}

/**
 * How each image gets to AWS: a prebuilt one must exist, a CodeBuild build needs nothing here, a
 * local build needs a running Docker, and without it says which image and the two ways out.
 */
export async function checkImages(clients: AwsClients, config: DeploymentConfig, docker: () => DockerState, region: string): Promise<CheckResult> {
  const local = imagesBuiltLocally(config.images);
  const state = local.length ? docker() : undefined;
  const findings = await Promise.all((Object.keys(IMAGES) as ImageName[]).map(async (name): Promise<ImageFinding> => {
    const prebuilt = config.images[name];
    if (prebuilt) return prebuiltFinding(clients, name, prebuilt, region);
    if (config.images.build === 'codebuild') return { status: 'pass', summary: 'built in AWS CodeBuild during the deploy (the trainer\'s first build takes 15-25 minutes)' };
    if (state?.available) return { status: 'pass', summary: `built with Docker here (Docker ${state.serverVersion})` };
    return { status: 'fail', summary: `built with Docker here, and there is none (${state && !state.available ? state.problem : '?'})` };
  }));
  const names: Record<ImageName, string> = { trainer: 'trainer', mlflow: 'MLflow' };
  const order: CheckResult['status'][] = ['fail', 'warn', 'pass'];
  const status = order.find((s) => findings.some((f) => f.status === s)) ?? 'pass';
  const dockerFix = state && !state.available ? dockerMissingMessage(config.images, state.problem) : undefined;
  return {
    id: 'images', title: 'images', status,
    summary: (Object.keys(IMAGES) as ImageName[]).map((name, i) => `${names[name]}: ${findings[i].summary}`).join('; '),
    ...(dockerFix || findings.some((f) => f.fix) ? { fix: [...(dockerFix ? [dockerFix] : []), ...findings.flatMap((f) => f.fix ?? [])] } : {}),
  };
}

/** Where run outcomes go: a reminder of the confirmation e-mail, or how to get them. */
export function notifyEmailNotice(config: DeploymentConfig): CheckResult {
  return config.notifyEmail
    ? { id: 'notify-email', title: 'notice e-mail', status: 'info', summary: `each run's outcome goes to ${config.notifyEmail} once subscribed: AWS e-mails a confirmation link during the deploy, and nothing arrives until it is clicked` }
    : { id: 'notify-email', title: 'notice e-mail', status: 'info', summary: 'none; -c notifyEmail=you@example.com e-mails each run\'s outcome' };
}
