/**
 * A jest snapshot serializer for CloudFormation templates: asset hashes (64 hex digits, in S3
 * keys, image tags and asset parameters) and the deploy run id derived from the trainer image's
 * hash become placeholders, so editing the trainer or the MLflow image does not churn snapshots
 * while every other change to a template still shows.
 * Register with `expect.addSnapshotSerializer(assetSnapshotSerializer)`.
 */
const ASSET_HASH = /[0-9a-f]{64}/g;
const DEPLOY_RUN_ID = /deploy-[0-9a-f]{12}/g;

function mask(value: string): string {
  return value.replace(ASSET_HASH, '[ASSET HASH]').replace(DEPLOY_RUN_ID, 'deploy-[RUN ID]');
}

export const assetSnapshotSerializer = {
  test: (value: unknown): boolean => typeof value === 'string' && mask(value) !== value,
  serialize: (value: string): string => JSON.stringify(mask(value)),
};
