import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerServeCommand } from '../../../trainer/src/cli/commands/serve';
import { saveModel } from '../../../trainer/src/models/model-files';
import { serveCli, waitForOutput } from '../../support/serve-cli';
import { DARK, png, trainTinyModel } from './tiny-model';

let runDir: string;

beforeAll(async () => {
  runDir = await mkdtemp(join(tmpdir(), 'serve-cli-'));
  const { model, preprocessing } = await trainTinyModel();
  await saveModel(model, join(runDir, 'model'), preprocessing);
});

afterAll(() => rm(runDir, { recursive: true, force: true }));

test('serves a run folder until SIGTERM, then exits 0', async () => {
  const server = serveCli(['--model', runDir, '--port', '0', '--backend', 'wasm', '--threads', '2']);
  const { child, output } = server;
  try {
    const url = (await waitForOutput(server, /listening on (http:\/\/\S+);/))[1];
    await waitForOutput(server, /ready \(from /);
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
  const server = serveCli(['--model', join(runDir, 'missing'), '--port', '0', '--backend', 'cpu']);
  const { child, output } = server;
  const [code] = await once(child, 'exit');
  expect(code).toBe(2);
  expect(output()).toMatch(/error: --model .*missing: found neither/);
});

test('MODEL_SERVER_TOKEN from the environment guards the server; without it, listening beyond loopback is warned about', async () => {
  const token = 'token-from-the-environment-0123';
  const guarded = serveCli(['--model', runDir, '--port', '0', '--backend', 'cpu'], { MODEL_SERVER_TOKEN: token });
  try {
    const url = (await waitForOutput(guarded, /listening on (http:\/\/\S+);/))[1];
    await waitForOutput(guarded, /ready \(from /);
    const image = await png(DARK);
    const post = (headers: Record<string, string>) => fetch(`${url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'image/png', ...headers }, body: image });
    expect((await post({})).status).toBe(401);
    expect((await post({ Authorization: `Bearer ${token}` })).status).toBe(200);
    expect(guarded.output()).not.toContain('warning');
  } finally {
    guarded.child.kill('SIGKILL');
  }
  const open = serveCli(['--model', runDir, '--port', '0', '--backend', 'cpu', '--host', '0.0.0.0']);
  try {
    await waitForOutput(open, /warning: listening on 0\.0\.0\.0 without MODEL_SERVER_TOKEN: anyone who can reach this port can score images/);
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
