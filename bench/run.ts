import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchDecode } from './decode';
import { benchMlflowAuth } from './mlflow-auth';
import { benchServe } from './serve';
import { benchStepYield } from './step-yield';
import { benchSynth } from './synth';
import { benchTrainSpeed } from './train-speed';

/**
 * `npm run bench [decode|train|yield|serve|synth|mlflow-auth...] [--no-cpu]`: the benchmarks named (all by default) on
 * this machine, one after another (they must not share the cores), written to
 * bench/results/latest.json (or latest-<names>.json) with the machine they ran on.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const only = args.filter((arg) => !arg.startsWith('--'));
  const suites: Record<string, () => Promise<object> | object> = {
    decode: () => benchDecode(),
    // --no-cpu skips TF.js's plain-JS backend: about 10 s for its one step of 8 images.
    train: () => benchTrainSpeed({ includeCpu: !args.includes('--no-cpu') }),
    yield: () => benchStepYield(),
    serve: () => benchServe(),
    synth: () => benchSynth(),
    'mlflow-auth': () => benchMlflowAuth(),
  };
  const results: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model, cores: availableParallelism(), memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  };
  for (const [name, run] of Object.entries(suites)) {
    if (only.length && !only.includes(name)) continue;
    process.stderr.write(`bench: ${name}...\n`);
    results[name] = await run();
    process.stderr.write(`${JSON.stringify(results[name], null, 2)}\n`);
  }
  const dir = join(__dirname, 'results');
  await mkdir(dir, { recursive: true });
  const file = join(dir, only.length ? `latest-${only.join('-')}.json` : 'latest.json');
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${file}\n`);
}

main().then(
  // The wasm backend's worker threads would keep the process alive.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
