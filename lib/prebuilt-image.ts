/**
 * A container image built elsewhere (CI) and named by digest: `<registry>/<repository>@sha256:<64 hex>`.
 * A tag can be moved to another image after the deploy, so the trainer and the services could run
 * something other than what was deployed, and the deploy-started run would be named after the wrong
 * image; only a digest names one image for good.
 */
export interface PrebuiltImage {
  readonly uri: string;
  readonly digest: string;
  /** Set for a private ECR repository, which the stacks must be allowed to pull from. */
  readonly ecr?: { readonly account: string; readonly region: string; readonly repositoryName: string; readonly partitionSuffix: string };
}

const DIGEST = /@(sha256:[0-9a-f]{64})$/;
const ECR_URI = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([a-z0-9][a-z0-9._/-]*)@sha256:[0-9a-f]{64}$/;
const IMAGE_NAME = /^[a-z0-9.-]+(:\d+)?\/[a-z0-9][a-z0-9._/-]*$/;

/** Why `uri` is not a usable prebuilt image reference, or undefined when it is. */
export function prebuiltImageProblem(uri: string): string | undefined {
  const digest = DIGEST.exec(uri);
  if (/^sha256:/.test(uri)) return 'a digest alone names no repository: give <registry>/<repository>@sha256:<64 hex digits>';
  if (!digest) {
    const tagged = /:[\w][\w.-]*$/.test(uri) && !uri.includes('@');
    return (tagged ? 'a tag can be moved to another image after the deploy; ' : '')
      + 'pin the image by digest: <registry>/<repository>@sha256:<64 hex digits> '
      + '(docker buildx imagetools inspect <image:tag> or aws ecr describe-images prints it)';
  }
  const name = uri.slice(0, digest.index);
  if (!IMAGE_NAME.test(name)) return 'must name a registry and a repository before the digest, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:…';
  if (name.includes('.dkr.ecr.') && !ECR_URI.test(uri)) return 'is not a valid ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<repository>@sha256:…)';
  return undefined;
}

/** Takes apart a reference that passed `prebuiltImageProblem`. */
export function parsePrebuiltImage(uri: string): PrebuiltImage {
  const problem = prebuiltImageProblem(uri);
  if (problem) throw new Error(`prebuilt image ${uri}: ${problem}`);
  const digest = (DIGEST.exec(uri) as RegExpExecArray)[1];
  const ecr = ECR_URI.exec(uri);
  return {
    uri,
    digest,
    ...(ecr ? { ecr: { account: ecr[1], region: ecr[2], partitionSuffix: ecr[3] ?? '', repositoryName: ecr[4] } } : {}),
  };
}
