// An S3 API on loopback for the MLflow server that entrypoint-server.ts starts (its artifact
// store, as S3 is in the cloud). A process of its own, so that a kept server outlives jest.
//   node s3rver-main.js <port> <directory> <bucket>
const S3rver = require('s3rver');

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
