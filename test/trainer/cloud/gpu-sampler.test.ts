import { parseGpuReading } from '../../../trainer/src/cloud/gpu-metrics';
import { sampleGpus } from '../../../trainer/src/cloud/gpu-sampler';
import { standInNvidiaSmi } from './stand-in-nvidia-smi';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Holds this thread the way a long training step does. */
function blockFor(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* a training step */ }
}

describe('parseGpuReading', () => {
  test('names each reading as MLflow does, memory in megabytes', () => {
    expect(parseGpuReading('0, 87, 1024, 15360, 35.50, 70.00')).toEqual({
      gpu: 0,
      metrics: {
        'system/gpu_0_utilization_percentage': 87,
        'system/gpu_0_memory_usage_megabytes': 1073.7,
        'system/gpu_0_memory_usage_percentage': 6.7,
        'system/gpu_0_power_usage_watts': 35.5,
        'system/gpu_0_power_usage_percentage': 50.7,
      },
    });
  });

  test('leaves out what a GPU does not report', () => {
    expect(Object.keys(parseGpuReading('1, 3, 100, 1000, [N/A], [Not Supported]')!.metrics)).toEqual([
      'system/gpu_1_utilization_percentage', 'system/gpu_1_memory_usage_megabytes', 'system/gpu_1_memory_usage_percentage',
    ]);
  });

  test.each(['', 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.', 'x, 1, 2, 3, 4, 5'])('%j is no reading', (line) => {
    expect(parseGpuReading(line)).toBeUndefined();
  });
});

describe('sampleGpus, with a stand-in nvidia-smi on PATH', () => {
  const onPath = (bin: string) => ({ ...process.env, PATH: `${bin}:${process.env.PATH}` });

  test('asks nvidia-smi to loop at the interval, and delivers one record per round with every GPU in it', async () => {
    const smi = standInNvidiaSmi({ gpus: 2 });
    const samples: Record<string, number>[] = [];
    const sampler = sampleGpus((metrics) => samples.push(metrics), { intervalSeconds: 5, log: () => undefined, env: onPath(smi.bin) });
    await sleep(600);
    sampler.stop();
    expect(smi.calls()[0]).toBe('--query-gpu=index,utilization.gpu,memory.used,memory.total,power.draw,enforced.power.limit --format=csv,noheader,nounits --loop=5');
    expect(samples.length).toBeGreaterThan(2);
    expect(samples[0]).toMatchObject({ 'system/gpu_0_utilization_percentage': 0, 'system/gpu_1_utilization_percentage': 0, 'system/gpu_0_power_usage_watts': 35.5 });
    expect(samples[0]['system/gpu_1_power_usage_watts']).toBeUndefined();
  });

  test('a training step holding the thread for seconds loses no reading: they wait in the pipe', async () => {
    const smi = standInNvidiaSmi({ everySeconds: 0.05 });
    const readings: number[] = [];
    const sampler = sampleGpus((metrics) => readings.push(metrics['system/gpu_0_utilization_percentage']), {
      intervalSeconds: 5, log: () => undefined, env: onPath(smi.bin),
    });
    await sleep(300);
    blockFor(1500);
    await sleep(300);
    sampler.stop();
    // Under load the stand-in may print fewer rounds than it meant to, but every round it printed arrives, in order.
    expect(readings.length).toBeGreaterThan(5);
    expect(readings).toEqual(readings.map((_, i) => i));
  });

  test('no nvidia-smi: says so once, and the run goes on', async () => {
    const lines: string[] = [];
    const sampler = sampleGpus(() => undefined, { intervalSeconds: 5, log: (line) => lines.push(line), env: { PATH: '/nonexistent' } });
    await sleep(200);
    sampler.stop();
    expect(lines).toEqual([expect.stringMatching(/^GPU metrics: cannot run nvidia-smi \(spawn nvidia-smi ENOENT\); the run goes on without them$/)]);
  });
});
