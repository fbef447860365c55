import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeImdsOptions {
  readonly instanceType: string;
  readonly instanceId: string;
  readonly lifecycle?: string;
  /** The spot interruption notice, once it has been given. */
  spotAction?: string;
  /** Never answer (a metadata service that hangs). */
  readonly silent?: boolean;
}

export interface FakeImds {
  readonly endpoint: string;
  readonly options: FakeImdsOptions;
  /** Paths requested, with whether they carried the session token. */
  readonly requests: { method: string; path: string; token: boolean }[];
  stop(): Promise<void>;
}

const TOKEN = 'fake-imds-token';

/** The parts of IMDSv2 the trainer uses, on loopback: token first, 401 without it. */
export async function startFakeImds(options: FakeImdsOptions): Promise<FakeImds> {
  const requests: FakeImds['requests'] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path, token: req.headers['x-aws-ec2-metadata-token'] === TOKEN });
    if (options.silent) return;
    if (req.method === 'PUT' && path === '/latest/api/token') {
      if (!req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
      return void res.end(TOKEN);
    }
    if (req.headers['x-aws-ec2-metadata-token'] !== TOKEN) return void res.writeHead(401).end();
    const answers: Record<string, string | undefined> = {
      '/latest/dynamic/instance-identity/document': JSON.stringify({
        instanceId: options.instanceId, instanceType: options.instanceType, region: 'eu-west-1', availabilityZone: 'eu-west-1a',
      }),
      '/latest/meta-data/instance-life-cycle': options.lifecycle,
      '/latest/meta-data/spot/instance-action': options.spotAction,
    };
    const body = answers[path];
    if (body === undefined) return void res.writeHead(404).end();
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    options,
    requests,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
