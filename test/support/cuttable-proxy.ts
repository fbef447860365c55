import net from 'node:net';

/**
 * A TCP proxy on loopback in front of a real server, whose line a test can cut and restore:
 * the real MLflow "goes away" (connection refused, open connections dropped) and comes back at
 * the same address, with everything it held.
 */
export interface CuttableProxy {
  readonly url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startCuttableProxy(target: string): Promise<CuttableProxy> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(targetPort), hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => { client.destroy(); upstream.destroy(); });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
  const cut = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const s of sockets) s.destroy();
  });
  const port = await listen(0);
  return {
    url: `http://127.0.0.1:${port}`,
    down: cut,
    up: async () => {
      if (!server.listening) await listen(port);
    },
    close: cut,
  };
}
