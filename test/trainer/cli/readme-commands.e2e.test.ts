import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { DEFAULT_CLI_TIMEOUT_MS, runCli } from '../../support/run-cli';

/**
 * The README's commands as a user types them: from the project root, relative paths, the default
 * output folder (`runs/` in the repository). Each test removes the folders it made there. The
 * cache goes to a temporary folder through XDG_CACHE_HOME, which leaves the command line as written.
 */
const ROOT = join(__dirname, '..', '..', '..');
const RUNS = join(ROOT, 'runs');
const lastLine = (stdout: string) => stdout.trim().split('\n').at(-1) as string;

let cache: string;
let runsExisted: boolean;
const made: string[] = [];
beforeAll(async () => {
  cache = await mkdtemp(join(tmpdir(), 'readme-commands-'));
  runsExisted = existsSync(RUNS);
});
/**
 * Only folders inside runs/ are ever removed: a command that failed prints no path, and a folder
 * derived from an empty line ('..') would otherwise be the project's parent.
 */
const insideRuns = (dir: string) => resolve(dir).startsWith(`${RUNS}/`);
afterAll(async () => {
  await Promise.all(made.filter(insideRuns).map((dir) => rm(resolve(dir), { recursive: true, force: true })));
  if (!runsExisted && existsSync(RUNS) && (await readdir(RUNS)).length === 0) await rmdir(RUNS);
  await rm(cache, { recursive: true, force: true });
});
const env = () => ({ XDG_CACHE_HOME: cache });

test('npm run compare -- runs/A runs/B, with the default --out: the comparison in runs/<time>-comparison/, its path last', async () => {
  const runDirs: string[] = [];
  for (const model of ['micro', 'cnn-1']) {
    const trained = await runCli(['train', '--data', 'synthetic:200', '--model', model, '--image-size', '32', '--epochs', '1'], { env: env() });
    expect(trained.code).toBe(0);
    runDirs.push(lastLine(trained.stdout));
    made.push(lastLine(trained.stdout));
  }
  expect(runDirs.every((dir) => dir.startsWith(`${RUNS}/`))).toBe(true);

  const result = await runCli(['compare', ...runDirs.map((dir) => relative(ROOT, dir))], { env: env() });
  const report = lastLine(result.stdout);
  made.push(join(report, '..'));
  expect(result.stderr).not.toContain('please report it');
  expect(result.code).toBe(0);
  expect(report).toMatch(new RegExp(`^${RUNS}/\\d{8}-\\d{6}-comparison/report\\.html$`));
  const html = await readFile(report, 'utf8');
  expect(html).toMatch(/<img alt="ROC curves" width="\d+" src="data:image\/png;base64,/);
  expect(html).toMatch(/<a href="\.\.\/\d{8}-\d{6}-micro\/report\.html">/);
}, 3 * DEFAULT_CLI_TIMEOUT_MS);

test('npm run sweep -- --models micro --seeds 1,2 --data synthetic:400 --epochs 1 --image-size 32: both cells, then the comparison', async () => {
  const result = await runCli(['--models', 'micro', '--seeds', '1,2', '--data', 'synthetic:400', '--epochs', '1', '--image-size', '32'],
    { entry: 'bin/sweep.ts', env: env(), timeoutMs: 2 * DEFAULT_CLI_TIMEOUT_MS });
  const report = lastLine(result.stdout);
  made.push(join(report, '..'));
  expect(result.stderr).not.toContain('please report it');
  expect(result.code).toBe(0);
  expect(report).toMatch(new RegExp(`^${RUNS}/sweep-\\d{8}-\\d{6}-[0-9a-f]{4}/report\\.html$`));
  const html = await readFile(report, 'utf8');
  expect(html).toContain('2 runs compared');
  expect(html).toMatch(/<img alt="ROC curves" width="\d+" src="data:image\/png;base64,/);
}, 2 * DEFAULT_CLI_TIMEOUT_MS + 60_000);
