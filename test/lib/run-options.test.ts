import { MODEL_NAMES } from '../../trainer/src/models/registry';
import { TrainConfigSchema } from '../../trainer/src/config';
import { UserError } from '../../trainer/src/user-error';
import { CloudTrainOptionsSchema, LOCAL_ONLY_OPTIONS, parseCloudTrainOptions, TRAINER_MODELS, trainerArgs } from '../../lib/run-options';

const flag = (key: string) => `--${key}`;

describe('cloud training options', () => {
  test('the model list matches the trainer\'s registry', () => {
    expect([...TRAINER_MODELS].sort()).toEqual([...MODEL_NAMES].sort());
  });

  test('every trainer option is either accepted for cloud runs or refused with a reason', () => {
    const handled = [...Object.keys(CloudTrainOptionsSchema.shape), ...Object.keys(LOCAL_ONLY_OPTIONS)].sort();
    expect(handled).toEqual(Object.keys(TrainConfigSchema.shape).sort());
  });

  test('renders the trainer CLI\'s flags in schema order, only for options given', () => {
    expect(trainerArgs({ epochs: 20, model: 'cnn-2', augment: true, freezeBase: true, splitFractions: [0.7, 0.15, 0.15] }))
      .toEqual(['--model', 'cnn-2', '--epochs', '20', '--split-fractions', '0.7,0.15,0.15', '--augment', '--freeze-base']);
    expect(trainerArgs({})).toEqual([]);
  });

  test('a false boolean is --no-<flag> when it is on by default, and left out when it is off by default', () => {
    const defaults = CloudTrainOptionsSchema.parse({});
    expect(defaults).toMatchObject({ augment: true, tta: true, freezeBase: false });
    expect(trainerArgs({ augment: false, tta: false, freezeBase: false })).toEqual(['--no-augment', '--no-tta']);
  });

  test.each([
    [{ model: 'resnet' }, '--model: must be one of compact, micro, cnn-1, cnn-2, cnn-3, cnn-4, vgg16'],
    [{ cacheDir: '/data' }, '--cacheDir: not available for cloud runs (the dataset cache is the bucket)'],
    [{ checkpointUri: 's3://x/y' }, '--checkpointUri: not available for cloud runs (the boot script points it at the bucket)'],
    [{ weights: 'vgg16.h5' }, '--weights: must be imagenet or an http(s) URL'],
    [{ data: '/home/me/cell_images' }, '--data: must be an http(s) URL or synthetic[:N]'],
    [{ splitFractions: [0.5, 0.2, 0.2] }, '--splitFractions: fractions must add up to 1'],
    [{ epocs: 3 }, '--epocs: unknown option'],
  ])('refuses %j with a message naming the option', (input, message) => {
    expect(() => parseCloudTrainOptions(input, flag)).toThrow(UserError);
    expect(() => parseCloudTrainOptions(input, flag)).toThrow(message);
  });

  test('accepts remote data, imagenet weights and synthetic data', () => {
    for (const input of [{ data: 'https://example.org/cells.zip' }, { data: 'synthetic:200' }, { weights: 'imagenet', model: 'vgg16' }]) {
      expect(parseCloudTrainOptions(input, flag)).toEqual(input);
    }
  });
});

test('the experiment the boot script looks runs up in is the one the trainer logs to by default', async () => {
  const { MLFLOW_EXPERIMENT } = await import('../../lib/names');
  const { DEFAULT_EXPERIMENT } = await import('../../trainer/src/tracking/mlflow/create-tracker');
  expect(MLFLOW_EXPERIMENT).toBe(DEFAULT_EXPERIMENT);
});
