import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerServeCommand } from '../../../trainer/src/cli/commands/serve';
import { saveModel } from '../../../trainer/src/models/model-files';
import { startCli } from '../../support/run-cli';
import { DARK, png, trainTinyModel } from './tiny-model';

let runDir: string;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'serve-cli-'));
  const { model, preprocessing } = await trainTinyModel();
  await saveModel(model, join(runDir, 'model'), preprocessing);
});

afterAll(() => rm(runDir, { recursive: true, force: true }));

/** `npm run serve -- ...`: node --import tsx, no wrapper process, so signals reach the server itself. */
function serve(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; output: () => string } {
  return startCli(['serve', ...args], { env: { MODEL_SERVER_TOKEN: '', ...env } });
}

async function waitFor(output: () => string, pattern: RegExp, child: ChildProcess): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(output());
    if (match) return match;
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before ${pattern}:\n${output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('serves a run folder until SIGTERM, then exits 0', async () => {
  const { child, output } = serve(['--model', runDir, '--port', '0', '--backend', 'wasm', '--threads', '2']);
  try {
    const url = (await waitFor(output, /listening on (http:\/\/\S+);/, child))[1];
    await waitFor(output, /ready \(from /, child);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const response = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: await png(DARK) });
    expect(((await response.json()) as { predictions: { label: string }[] }).predictions[0].label).toBe('Parasitized');
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output()).toMatch(/SIGTERM: no longer accepting connections[\s\S]*stopped/);
  } finally {
    child.kill('SIGKILL');
  }
});

test('a model that cannot be loaded ends the command with the reason and a non-zero code', async () => {
  const { child, output } = serve(['--model', join(runDir, 'missing'), '--port', '0', '--backend', 'cpu']);
  const [code] = await once(child, 'exit');
  expect(code).toBe(2);
  expect(output()).toMatch(/error: --model .*missing: found neither/);
  // Once, as the command's error: not also as a log line of the server.
  expect(output().match(/found neither/g)).toHaveLength(1);
});

test('MODEL_SERVER_TOKEN from the environment guards the server; without it, listening beyond loopback is warned about', async () => {
  const token = 'token-from-the-environment-0123';
  const { child, output } = serve(['--model', runDir, '--port', '0', '--backend', 'cpu'], { MODEL_SERVER_TOKEN: token });
  try {
    const url = (await waitFor(output, /listening on (http:\/\/\S+);/, child))[1];
    await waitFor(output, /ready \(from /, child);
    const image = await png(DARK);
    const post = (headers: Record<string, string>) => fetch(`${url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'image/png', ...headers }, body: image });
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${token}` })).status).toBe(200);
    expect(output()).not.toContain('warning');
  } finally {
    child.kill('SIGKILL');
  }
  const open = serve(['--model', runDir, '--port', '0', '--backend', 'cpu', '--host', '0.0.0.0']);
  try {
    await waitFor(open.output, /warning: listening on 0\.0\.0\.0 without MODEL_SERVER_TOKEN: anyone who can reach this port can score images/, open.child);
  } finally {
    open.child.kill('SIGKILL');
  }
});

test.each([
  [['--max-batch', '0'], /--max-batch: must be a whole number of at least 1 \(got 0\)/],
  [['--base-path', '/model/'], /--base-path: must look like \/model/],
  [['--port', '70000'], /--port: must be a whole number of at most 65535 \(got 70000\)/],
  [['--model', ''], /--model: required: a run folder/],
])('bad flags %j are refused before anything starts, naming the flag', async (flags, message) => {
  const program = new Command().exitOverride();
  registerServeCommand(program);
  await expect(program.parseAsync(['serve', '--model', runDir, ...flags], { from: 'user' })).rejects.toThrow(message);
});
