import { UserError } from '../../../trainer/src/user-error';
import { cloudRunTags, collectCloudTags, describeBackend, gpuInfo, requireGpu, type CommandRunner } from '../../../trainer/src/cloud/gpu';
import { startFakeImds, type FakeImds } from './fake-imds';

const t4: CommandRunner = async (command, args) => {
  expect([command, ...args]).toEqual(['nvidia-smi', '--query-gpu=name,driver_version', '--format=csv,noheader']);
  return 'Tesla T4, 535.183.01\n';
};
const noGpu: CommandRunner = async () => {
  throw Object.assign(new Error('spawn nvidia-smi ENOENT'), { code: 'ENOENT' });
};
const gpuBackend = { name: 'tensorflow', usesGpuDevice: true };

describe('--require-gpu', () => {
  test('passes when TensorFlow runs on the GPU nvidia-smi sees', async () => {
    await expect(requireGpu(gpuBackend, t4)).resolves.toEqual([{ name: 'Tesla T4', driver: '535.183.01' }]);
  });

  test('fails fast when the container sees no GPU, saying how to give it one', async () => {
    const check = requireGpu(gpuBackend, noGpu);
    await expect(check).rejects.toThrow(UserError);
    await expect(requireGpu(gpuBackend, noGpu)).rejects.toThrow(/no NVIDIA GPU is visible.*--gpus all/);
  });

  test.each([
    [{ name: 'wasm', usesGpuDevice: false }, /Tesla T4 \(driver 535\.183\.01\), but the active backend is 'wasm'.*tfjs-node-gpu is not installed/],
    [{ name: 'tensorflow-gpu', usesGpuDevice: false }, /active backend is 'tensorflow-gpu' on the CPU.*opened no GPU device.*CUDA 11 \/ cuDNN 8/],
  ])('fails when a GPU is there but the backend %o would train on the CPU', async (backend, message) => {
    await expect(requireGpu(backend, t4)).rejects.toThrow(message);
  });

  test("reads whether tfjs-node's backend opened a GPU device", () => {
    expect(describeBackend('tensorflow', { isUsingGpuDevice: true })).toEqual(gpuBackend);
    expect(describeBackend('tensorflow', { isUsingGpuDevice: false }).usesGpuDevice).toBe(false);
    expect(describeBackend('wasm', {}).usesGpuDevice).toBe(false);
  });
});

test('gpuInfo lists every GPU, names with commas included', async () => {
  const runner: CommandRunner = async () => 'NVIDIA A10G, 550.90.07\nNVIDIA L4, Rev 2, 550.90.07\n';
  await expect(gpuInfo(runner)).resolves.toEqual([
    { name: 'NVIDIA A10G', driver: '550.90.07' },
    { name: 'NVIDIA L4, Rev 2', driver: '550.90.07' },
  ]);
  await expect(gpuInfo(noGpu)).resolves.toEqual([]);
});

describe('run tags', () => {
  let imds: FakeImds;
  beforeAll(async () => { imds = await startFakeImds({ instanceType: 'g4dn.xlarge', instanceId: 'i-0abc', lifecycle: 'spot' }); });
  afterAll(async () => imds.stop());

  test('record GPU, driver, instance, backend and image digest on EC2', async () => {
    const tags = await collectCloudTags(gpuBackend, {
      runner: t4,
      metadata: { endpoint: imds.endpoint },
      env: { TRAINER_IMAGE_DIGEST: 'sha256:feed' },
    });
    expect(tags).toEqual({
      backend: 'tensorflow',
      gpu_name: 'Tesla T4',
      gpu_driver: '535.183.01',
      instance_type: 'g4dn.xlarge',
      instance_id: 'i-0abc',
      instance_lifecycle: 'spot',
      image_digest: 'sha256:feed',
    });
  });

  test('off EC2 and without a GPU only the backend is recorded', () => {
    expect(cloudRunTags({ backend: { name: 'wasm', usesGpuDevice: false }, gpus: [] })).toEqual({ backend: 'wasm' });
  });
});
