import { stopRealMlflow } from './servers';

export default async function globalTeardown(): Promise<void> {
  await stopRealMlflow();
}
