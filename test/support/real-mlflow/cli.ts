import { kitSettings } from './kit';
import { startRealMlflow, stopKitServers } from './servers';

/**
 * `npm run test:mlflow -- start|stop`: the suite's real MLflow servers by hand. Started this way
 * (or with MLFLOW_TEST_KEEP_SERVER=1) they outlive a jest run, and the next runs reuse them.
 */
async function main(command: string | undefined): Promise<void> {
  const settings = kitSettings();
  if (!settings) throw new Error('no ../shared/mlflow-server kit here (set MLFLOW_SERVER_KIT)');
  if (command === 'start') {
    process.stdout.write(`${(await startRealMlflow({ ...process.env })).summary}\n`);
  } else if (command === 'stop') {
    await stopKitServers(settings);
  } else {
    throw new Error('usage: npm run test:mlflow -- start|stop');
  }
}

main(process.argv[2]).catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
