import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StandInNvidiaSmi {
  /** Put this folder first on PATH. */
  readonly bin: string;
  /** The arguments of each call, one line per call. */
  calls(): string[];
}

/**
 * A stand-in for nvidia-smi: with `--loop`, a reading of `gpus` GPUs every `everySeconds`
 * (utilisation counting up from 0, so a lost or doubled reading shows), as
 * `--query-gpu=index,utilization.gpu,memory.used,memory.total,power.draw,enforced.power.limit
 * --format=csv,noheader,nounits` prints it; GPU 1 reports no power, as some do.
 */
export function standInNvidiaSmi(options: { gpus?: number; everySeconds?: number } = {}): StandInNvidiaSmi {
  const bin = mkdtempSync(join(tmpdir(), 'nvidia-smi-'));
  const log = join(bin, 'calls.log');
  writeFileSync(join(bin, 'nvidia-smi'), `#!/usr/bin/env bash
echo "$*" >> '${log}'
if [[ "$*" != *--loop=* ]]; then echo "Tesla T4, 535.183.01"; exit 0; fi
n=0
trap 'exit 0' TERM
while true; do
  for (( gpu = 0; gpu < ${options.gpus ?? 1}; gpu++ )); do
    if (( gpu == 0 )); then power="35.50, 70.00"; else power="[N/A], [N/A]"; fi
    echo "$gpu, $n, 1024, 15360, $power"
  done
  n=$(( n + 1 ))
  sleep ${options.everySeconds ?? 0.05}
done
`);
  chmodSync(join(bin, 'nvidia-smi'), 0o755);
  return { bin, calls: () => readFileSync(log, 'utf8').trim().split('\n') };
}
