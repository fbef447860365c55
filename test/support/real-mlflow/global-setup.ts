import { startRealMlflow } from './servers';

/** jest globalSetup: the real MLflow servers, once per run (workers inherit the environment). */
export default async function globalSetup(): Promise<void> {
  const { summary } = await startRealMlflow();
  process.stderr.write(`\n${summary}\n`);
}
