import type { RunningModelServer } from './model-server';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Resolves once the server has shut down gracefully after SIGTERM (what ECS and Kubernetes send)
 * or SIGINT (Ctrl-C). A second signal while draining exits at once, for a person who will not wait.
 */
export function stopOnSignals(server: Pick<RunningModelServer, 'close'>, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log(`${signal} again: exiting without waiting for requests in flight`);
        process.exit(1);
      }
      stopping = true;
      log(`${signal}: no longer accepting connections; finishing requests in flight`);
      server.close().then(() => {
        for (const s of SIGNALS) process.off(s, onSignal);
        log('stopped');
        resolve();
      }, reject);
    };
    for (const s of SIGNALS) process.on(s, onSignal);
  });
}
