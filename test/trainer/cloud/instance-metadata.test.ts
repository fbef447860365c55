import { createServer } from 'node:net';
import { instanceIdentity, watchSpotInterruption } from '../../../trainer/src/cloud/instance-metadata';
import { startFakeImds } from './fake-imds';

test('reads the instance identity with an IMDSv2 session token', async () => {
  const imds = await startFakeImds({ instanceType: 'g5.xlarge', instanceId: 'i-123', lifecycle: 'on-demand' });
  try {
    await expect(instanceIdentity({ endpoint: imds.endpoint })).resolves.toEqual({
      instanceId: 'i-123', instanceType: 'g5.xlarge', region: 'eu-west-1', availabilityZone: 'eu-west-1a', lifecycle: 'on-demand',
    });
    expect(imds.requests[0]).toEqual({ method: 'PUT', path: '/latest/api/token', token: false });
    expect(imds.requests.slice(1).every((r) => r.method === 'GET' && r.token)).toBe(true);
  } finally {
    await imds.stop();
  }
});

test('the SDK variable AWS_EC2_METADATA_SERVICE_ENDPOINT points it elsewhere', async () => {
  const imds = await startFakeImds({ instanceType: 'g4dn.xlarge', instanceId: 'i-9' });
  try {
    const identity = await instanceIdentity({ env: { AWS_EC2_METADATA_SERVICE_ENDPOINT: `${imds.endpoint}/` } });
    expect(identity?.instanceType).toBe('g4dn.xlarge');
    expect(identity?.lifecycle).toBeUndefined();
  } finally {
    await imds.stop();
  }
});

test('off EC2 (nothing listening) it answers undefined', async () => {
  const port = await closedPort();
  await expect(instanceIdentity({ endpoint: `http://127.0.0.1:${port}` })).resolves.toBeUndefined();
});

test('a metadata service that never answers gives up after the timeout', async () => {
  const imds = await startFakeImds({ instanceType: 'x', instanceId: 'y', silent: true });
  try {
    await expect(instanceIdentity({ endpoint: imds.endpoint, timeoutMs: 200 })).resolves.toBeUndefined();
  } finally {
    await imds.stop();
  }
});

test('AWS_EC2_METADATA_DISABLED=true skips the service entirely', async () => {
  const imds = await startFakeImds({ instanceType: 'x', instanceId: 'y' });
  try {
    await expect(instanceIdentity({ endpoint: imds.endpoint, env: { AWS_EC2_METADATA_DISABLED: 'true' } })).resolves.toBeUndefined();
    expect(imds.requests).toHaveLength(0);
  } finally {
    await imds.stop();
  }
});

test('the spot interruption notice is reported once, when it appears', async () => {
  const imds = await startFakeImds({ instanceType: 'g4dn.xlarge', instanceId: 'i-1' });
  const notices: string[] = [];
  const stop = watchSpotInterruption((action) => notices.push(action), { endpoint: imds.endpoint, intervalMs: 20 });
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(notices).toEqual([]);
    imds.options.spotAction = '{"action":"terminate","time":"2026-11-25T21:00:00Z"}';
    for (let i = 0; i < 100 && notices.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(notices).toEqual(['{"action":"terminate","time":"2026-11-25T21:00:00Z"}']);
  } finally {
    stop();
    await imds.stop();
  }
});

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
