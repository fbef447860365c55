import { assetSnapshotSerializer } from '../support/asset-snapshot-serializer';
import { buildApp, type BuiltApp } from './build-app';

expect.addSnapshotSerializer(assetSnapshotSerializer);

// One snapshot per stack of the default configuration, and the training stack with the model
// server: a diff here is a change to what `cdk deploy` would do, to be read before it is accepted
// (npx jest test/lib -u).
let built: BuiltApp;
let serving: BuiltApp;
beforeAll(() => {
  built = buildApp();
  serving = buildApp({ serve: true });
});

test('tracking stack', () => {
  expect(built.tracking.toJSON()).toMatchSnapshot();
});

test('training stack', () => {
  expect(built.training.toJSON()).toMatchSnapshot();
});

test('training stack with serve=true', () => {
  expect(serving.training.toJSON()).toMatchSnapshot();
});

test('the serializer masks asset hashes and the deploy run id, nothing else', () => {
  const hash = 'ab'.repeat(32);
  expect(assetSnapshotSerializer.test(`cdk-assets:${hash}`)).toBe(true);
  expect(assetSnapshotSerializer.serialize(`cdk-assets:${hash}`)).toBe('"cdk-assets:[ASSET HASH]"');
  expect(assetSnapshotSerializer.serialize('deploy-0123456789ab\n--epochs')).toBe('"deploy-[RUN ID]\\n--epochs"');
  expect(assetSnapshotSerializer.test('g4dn.xlarge')).toBe(false);
});
