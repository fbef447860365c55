import { S3Client } from '@aws-sdk/client-s3';

/**
 * An S3 client for `endpoint` (undefined: AWS itself). On EC2 the SDK finds credentials through
 * the instance metadata service (the launch template's hop limit of 2 lets the container reach
 * it). An S3-compatible endpoint (s3rver or MinIO in tests and local stacks) gets path-style
 * addressing and checksums only where S3 requires them: such stores do not speak the SDK's
 * default streaming checksum encoding.
 */
export function s3ClientFor(endpoint: string | undefined, env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({
    // The bucket's region is found by redirect when none is configured; the boot script sets AWS_REGION.
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    followRegionRedirects: true,
    ...(endpoint
      ? { endpoint, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });
}

/** The trainer's client: `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` select an S3-compatible store. */
export function createS3Client(env: NodeJS.ProcessEnv = process.env): S3Client {
  return s3ClientFor(env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL, env);
}
