import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { cidrProblem, CONFIG_KEYS, loadConfig } from '../../lib/config';
import { UserError } from '../../trainer/src/user-error';

const cdkJsonContext = JSON.parse(readFileSync(path.join(__dirname, '../../cdk.json'), 'utf8')).context as Record<string, unknown>;

function configError(context: Record<string, unknown>): string {
  try {
    loadConfig(context);
  } catch (error) {
    expect(error).toBeInstanceOf(UserError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('loadConfig', () => {
  test('cdk.json as committed gives the documented defaults', () => {
    expect(loadConfig(cdkJsonContext)).toEqual({
      envName: 'dev',
      allowedCidrs: [],
      openToInternet: false,
      instanceType: 'g4dn.xlarge',
      spot: false,
      maxRuntimeMinutes: 240,
      rootVolumeGiB: 100,
      retainData: false,
      trainOnDeploy: false,
      train: { model: 'compact', epochs: 10 },
      serve: false,
      images: { build: 'local' },
      sweepInstanceType: 'g4dn.xlarge',
      sweepMaxInstances: 4,
    });
  });

  test('cdk.json names every key the app reads, so its defaults are all visible there', () => {
    const keys = Object.keys(cdkJsonContext).filter((key) => !key.includes(':'));
    const optional = ['certificateArn', 'domainName', 'trainerImage', 'mlflowImage', 'notifyEmail'];
    expect(keys.sort()).toEqual(CONFIG_KEYS.filter((key) => !optional.includes(key)).sort());
  });

  test('-c values arrive as strings and are read as the types cdk.json uses', () => {
    const config = loadConfig({
      env: 'alice', spot: 'true', retainData: 'true', trainOnDeploy: 'false', maxRuntimeMinutes: '90', epochs: '25',
      model: 'cnn-2', allowedCidrs: '203.0.113.7/32, 198.51.100.0/24', trainOptions: '{"batchSize":32,"augment":true}',
      instanceType: 'g5.2xlarge', serve: 'true', sweepInstanceType: 'g5.xlarge', sweepMaxInstances: '10',
    });
    expect(config).toMatchObject({
      sweepInstanceType: 'g5.xlarge', sweepMaxInstances: 10,
      envName: 'alice', spot: true, serve: true, retainData: true, trainOnDeploy: false, maxRuntimeMinutes: 90, instanceType: 'g5.2xlarge',
      allowedCidrs: ['203.0.113.7/32', '198.51.100.0/24'],
      train: { model: 'cnn-2', epochs: 25, batchSize: 32, augment: true },
    });
  });

  test.each([
    ['a non-GPU instance type', { instanceType: 't3.large' }, /instanceType = "t3.large": must be an NVIDIA GPU instance type of family g4dn, g5, .*\(for example g4dn.xlarge\)/],
    ['an Arm GPU instance type', { instanceType: 'g5g.xlarge' }, /instanceType = "g5g.xlarge": must be an NVIDIA GPU instance type/],
    ['a malformed CIDR', { allowedCidrs: ['10.0.0/8'] }, /allowedCidrs: "10.0.0\/8" is not an IPv4 CIDR such as 203.0.113.7\/32/],
    ['a CIDR with host bits', { allowedCidrs: '203.0.113.7/24' }, /"203.0.113.7\/24" has host bits set; did you mean 203.0.113.0\/24\?/],
    ['an unknown model', { model: 'resnet50' }, /model = "resnet50": must be one of compact, micro, cnn-1, cnn-2, cnn-3, cnn-4, vgg16/],
    ['zero epochs', { epochs: 0 }, /epochs = 0: must be a whole number from 1 to 10000/],
    ['negative epochs from -c', { epochs: '-3' }, /epochs = "-3": must be a whole number from 1 to 10000/],
    ['a non-boolean flag', { spot: 'yes' }, /spot = "yes": must be true or false/],
    ['a non-boolean serve', { serve: 'on' }, /serve = "on": must be true or false/],
    ['an environment name unfit for stack names', { env: 'Alice_1' }, /env = "Alice_1": must be 1-20 lower-case letters, digits or dashes/],
    ['a misspelt key', { epoch: 5 }, /epoch = 5: unknown key; did you mean epochs\? accepted keys: env, allowedCidrs, .*trainOptions/],
    ['a key in the wrong case', { instancetype: 'g5.xlarge' }, /instancetype = "g5.xlarge": unknown key; did you mean instanceType\? accepted keys: /],
    ['a key like none of ours', { colour: 'blue' }, /colour = "blue": unknown key; accepted keys: env, /],
    ['a sweep instance type whose size is not known', { sweepInstanceType: 'p3.2xlarge' },
      /sweepInstanceType = "p3.2xlarge": must be one of g4dn.xlarge, .*g6.48xlarge \(NVIDIA GPU types whose size the sweep job definition is fitted to\)/],
    ['no sweep instances at all', { sweepMaxInstances: 0 }, /sweepMaxInstances = 0: must be a whole number from 1 to 100/],
    ['a watchdog under 15 minutes', { maxRuntimeMinutes: 5 }, /maxRuntimeMinutes = 5: must be a whole number from 15 to 2880/],
    ['HTTPS without public access', { certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123', domainName: 'mlflow.example.com' },
      /certificateArn: HTTPS is for the public load balancer, which exists only with allowedCidrs/],
    ['a certificate without its domain', { allowedCidrs: ['203.0.113.7/32'], certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123' },
      /certificateArn: set domainName/],
    ['a malformed certificate ARN', { allowedCidrs: ['203.0.113.7/32'], certificateArn: 'my-cert' }, /certificateArn = "my-cert": must be an ACM certificate ARN/],
    ['a local-only trainer option', { trainOptions: { out: '/tmp/runs' } }, /trainOptions.out: not available for cloud runs/],
    ['an unknown trainer option', { trainOptions: { batchSize: 32, dropout: 0.5 } }, /trainOptions.dropout: unknown option/],
    ['an invalid trainer option value', { trainOptions: { batchSize: 0 } }, /trainOptions.batchSize: /],
    ['a local data path', { trainOptions: { data: './cell_images.zip' } }, /trainOptions.data: must be an http\(s\) URL or synthetic\[:N\]/],
    ['model inside trainOptions', { trainOptions: { model: 'vgg16' } }, /trainOptions.model: set it with the model key instead/],
    ['the whole internet without confirmation', { allowedCidrs: '0.0.0.0/0' },
      /allowedCidrs: 0.0.0.0\/0 puts MLflow's login page and the model server on the whole internet; .*confirm it with -c openToInternet=true/],
    ['the whole IPv6 internet', { allowedCidrs: ['::/0'], openToInternet: true }, /allowedCidrs: "::\/0" is IPv6; the load balancer is IPv4 only \(and ::\/0 would be the whole internet\)/],
    ['a prebuilt image by tag', { trainerImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/trainer:latest' },
      /trainerImage = ".*trainer:latest": a tag can be moved to another image after the deploy; pin the image by digest: <registry>\/<repository>@sha256:/],
    ['a digest without a repository', { mlflowImage: `sha256:${'a'.repeat(64)}` }, /mlflowImage = "sha256:a+": a digest alone names no repository: give <registry>\/<repository>@sha256:/],
    ['a malformed ECR URI', { trainerImage: `123.dkr.ecr.eu-west-1.amazonaws.com/trainer@sha256:${'a'.repeat(64)}` }, /trainerImage = .*: is not a valid ECR image URI/],
    ['an unknown image build', { imageBuild: 'docker' }, /imageBuild = "docker": must be one of local, codebuild/],
    ['a list of e-mail addresses', { notifyEmail: 'a@example.com,b@example.com' }, /notifyEmail = "a@example.com,b@example.com": must be one e-mail address/],
    ['trainOptions that are not JSON', { trainOptions: '{batchSize: 32}' }, /trainOptions = "\{batchSize: 32\}": must be a JSON object of trainer options/],
  ])('rejects %s, naming the key and what is accepted', (_name, context, message) => {
    expect(configError(context)).toMatch(message);
  });

  test('reports every problem at once', () => {
    const message = configError({ instanceType: 'm5.large', allowedCidrs: ['300.1.1.1/32'], trainOptions: { augment: 'yes' } });
    expect(message.split('\n')).toEqual(expect.arrayContaining([
      expect.stringMatching(/^ {2}allowedCidrs: "300.1.1.1\/32"/),
      expect.stringMatching(/^ {2}instanceType = "m5.large"/),
      expect.stringMatching(/^ {2}trainOptions.augment: /),
    ]));
  });

  test('leaves CDK\'s own context (feature flags, lookups) alone', () => {
    expect(() => loadConfig({ '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true, 'acknowledged-issue-numbers': [1], 'aws:cdk:enable-path-metadata': true })).not.toThrow();
  });
});

test('0.0.0.0/0 with openToInternet=true, prebuilt images by digest and an e-mail address are accepted', () => {
  const trainerImage = `123456789012.dkr.ecr.eu-west-1.amazonaws.com/malaria/trainer@sha256:${'f'.repeat(64)}`;
  expect(loadConfig({ allowedCidrs: '0.0.0.0/0', openToInternet: 'true', trainerImage, imageBuild: 'codebuild', notifyEmail: 'team@example.com' })).toMatchObject({
    allowedCidrs: ['0.0.0.0/0'], images: { trainer: trainerImage, build: 'codebuild' }, notifyEmail: 'team@example.com',
  });
});

describe('cidrProblem', () => {
  test.each(['0.0.0.0/0', '203.0.113.7/32', '10.0.0.0/8'])('accepts %s', (cidr) => expect(cidrProblem(cidr)).toEqual([]));
});
