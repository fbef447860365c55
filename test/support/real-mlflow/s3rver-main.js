// An S3 API on loopback for the MLflow server that entrypoint-server.ts starts (its artifact
// store, as S3 is in the cloud). A process of its own, so that a kept server outlives jest.
//   node s3rver-main.js <port> <directory> <bucket>
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

// s3rver 3.7 does not walk below a common prefix's first folder, so a folder that holds only
// folders (a model's code/, holding code/<package>/) is missing from a delimited listing, and
// MLflow, which lists folder by folder, never downloads it. S3 lists it; so does this.
const { listObjects } = FilesystemStore.prototype;
FilesystemStore.prototype.listObjects = async function listObjectsAsS3(bucket, options) {
  const { delimiter = '', prefix = '', maxKeys = Infinity } = options;
  if (!delimiter) return listObjects.call(this, bucket, options);
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const commonPrefixes = new Set();
  const objects = [];
  let isTruncated = false;
  for (const object of all.objects) {
    const at = object.key.slice(prefix.length).indexOf(delimiter);
    if (at !== -1) commonPrefixes.add(object.key.slice(0, prefix.length + at + 1));
    else if (objects.length < maxKeys) objects.push(object);
    else isTruncated = true;
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
};

const [port, directory, bucket] = process.argv.slice(2);
new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory, configureBuckets: [{ name: bucket, configs: [] }] })
  .run()
  .then(
    () => process.stdout.write('ready\n'),
    (error) => {
      process.stderr.write(`s3rver: ${error.stack ?? error}\n`);
      process.exit(1);
    },
  );
