import type { DeploymentConfig } from './config';

export type ImageName = 'trainer' | 'mlflow';

/** How the config names each image's prebuilt reference, and what a build of it starts from. */
export const IMAGES: Readonly<Record<ImageName, { readonly key: string; readonly title: string; readonly source: string }>> = {
  trainer: { key: 'trainerImage', title: 'the trainer image', source: 'trainer/Dockerfile' },
  mlflow: { key: 'mlflowImage', title: 'the MLflow image', source: 'mlflow-stack/' },
};

/** The images `cdk deploy` builds with Docker on the deploying machine: local builds without a prebuilt image. */
export function imagesBuiltLocally(images: DeploymentConfig['images']): ImageName[] {
  if (images.build !== 'local') return [];
  return (Object.keys(IMAGES) as ImageName[]).filter((name) => !images[name]);
}

/**
 * What to say when images would be built here and Docker cannot build them (`dockerProblem`), or
 * undefined when nothing needs Docker: which image still needs building, and the two ways out,
 * instead of the CDK CLI's generic "Failed to find and execute 'docker'" halfway through a deploy.
 */
export function dockerMissingMessage(images: DeploymentConfig['images'], dockerProblem: string): string | undefined {
  const needed = imagesBuiltLocally(images);
  if (!needed.length) return undefined;
  const prebuilt = (Object.keys(IMAGES) as ImageName[]).filter((name) => images[name]);
  const what = needed.map((name) => `${IMAGES[name].title} (${IMAGES[name].source})`).join(' and ');
  const flags = needed.map((name) => `-c ${IMAGES[name].key}=<registry>/<repository>@sha256:<digest>`).join(' ');
  return [
    `cdk deploy builds ${what} with Docker on this machine, and ${dockerProblem}.`,
    ...prebuilt.map((name) => `${capitalized(IMAGES[name].title)} is prebuilt (${IMAGES[name].key}).`),
    `Two ways out: ${flags} (${needed.length > 1 ? 'images' : 'an image'} built elsewhere, e.g. in CI: docs/cloud.md, "The images: three ways"),`
    + ' or -c imageBuild=codebuild (built in AWS CodeBuild during the deploy, no Docker needed).',
  ].join(' ');
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
