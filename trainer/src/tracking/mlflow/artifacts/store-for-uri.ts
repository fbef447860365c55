import type { S3Client } from '@aws-sdk/client-s3';
import { UserError } from '../../../user-error';
import type { MlflowClient } from '../client';
import type { ArtifactStore } from './artifact-store';
import { LocalArtifactStore } from './local-artifact-store';
import { ProxyArtifactStore } from './proxy-artifact-store';
import { s3ClientFor } from '../../../cloud/s3-client';
import { S3ArtifactStore } from './s3-artifact-store';

/** One S3 client per endpoint: it holds the credential chain's cache and its sockets. */
const s3Clients = new Map<string, S3Client>();

/** Picks the store for an artifact root by its scheme, as MLflow's Python client does. */
export function artifactStoreFor(rootUri: string, client: MlflowClient): ArtifactStore {
  if (rootUri.startsWith('mlflow-artifacts:')) return new ProxyArtifactStore(rootUri, client.http, client.artifactSettings);
  if (rootUri.startsWith('s3://')) {
    const key = client.artifactSettings.s3Endpoint ?? 'aws';
    const s3 = s3Clients.get(key) ?? s3ClientFor(client.artifactSettings.s3Endpoint);
    s3Clients.set(key, s3);
    return new S3ArtifactStore(rootUri, s3);
  }
  if (rootUri.startsWith('file:') || rootUri.startsWith('/') || /^[A-Za-z]:[\\/]/.test(rootUri)) return new LocalArtifactStore(rootUri);
  const scheme = rootUri.split(':')[0];
  throw new UserError(
    `artifact URI '${rootUri}': the '${scheme}' scheme is not supported (only mlflow-artifacts:, s3:// and local paths). ` +
      'Run the MLflow server with --serve-artifacts, or with an s3:// artifact root.',
  );
}
