import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Wall time of `cdk synth` of the whole app, as a user runs it (`npx cdk synth --quiet`), best and median of `runs`. */
export function benchSynth(runs = 3): object {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = mkdtempSync(join(tmpdir(), 'bench-synth-'));
    const started = performance.now();
    const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out], { cwd: join(__dirname, '..'), encoding: 'utf8' });
    seconds.push((performance.now() - started) / 1000);
    rmSync(out, { recursive: true, force: true });
    if (result.status !== 0) throw new Error(`cdk synth failed:\n${result.stderr}`);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  return { command: 'npx cdk synth --quiet', runs, bestSeconds: sorted[0], medianSeconds: sorted[Math.floor(runs / 2)] };
}
