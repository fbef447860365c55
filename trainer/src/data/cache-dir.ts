import { homedir } from 'node:os';
import { join } from 'node:path';

/** The user's cache folder for downloads and generated data: `$XDG_CACHE_HOME/malaria-mlops`, else `~/.cache/malaria-mlops`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'malaria-mlops');
}
