import type { LayersModel } from '@tensorflow/tfjs';
import { decodeImage } from '../../../trainer/src/data/decode';
import { encodePng, PngColorType } from '../../../trainer/src/data/png-encode';
import type { Preprocessing } from '../../../trainer/src/models/preprocessing';
import { createModelExplainer } from '../../../trainer/src/serve/model-explainer';
import { createModelPredictor } from '../../../trainer/src/serve/model-predictor';
import { startModelServer, type RunningModelServer } from '../../../trainer/src/serve/model-server';
import type { Explanation } from '../../../trainer/src/serve/served-model';
import { BRIGHT, DARK, INPUT_SIZE, png, trainTinyModel } from './tiny-model';

let tiny: { model: LayersModel; preprocessing: Preprocessing };
const servers: RunningModelServer[] = [];

beforeAll(async () => {
  tiny = await trainTinyModel();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(explains = true): Promise<RunningModelServer> {
  const server = await startModelServer({
    port: 0,
    load: async () => ({
      info: { name: 'tiny', version: '1', source: 'test', preprocessing: tiny.preprocessing },
      predict: createModelPredictor(tiny.model, tiny.preprocessing),
      ...(explains ? { explain: createModelExplainer(tiny.model, tiny.preprocessing) } : {}),
    }),
  });
  servers.push(server);
  await server.ready;
  return server;
}

interface Answer {
  predictions: { probability: number; label: string; explanation?: Explanation }[];
}

function post(server: RunningModelServer, body: unknown, path = '/invocations'): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** Dark (what the tiny model calls Parasitized) on the left half, bright on the right. */
async function halfDark(): Promise<string> {
  const data = new Uint8Array(INPUT_SIZE * INPUT_SIZE * 3);
  for (let k = 0; k < INPUT_SIZE * INPUT_SIZE; k++) data.fill(k % INPUT_SIZE < INPUT_SIZE / 2 ? DARK : BRIGHT, k * 3, k * 3 + 3);
  return (await encodePng({ width: INPUT_SIZE, height: INPUT_SIZE, colorType: PngColorType.rgb, data })).toString('base64');
}

test('explain: true answers a map beside each probability: PNGs at the model\'s size, and its peak as fractions of the image', async () => {
  const server = await start();
  const response = await post(server, { instances: [await halfDark(), Buffer.from(await png(BRIGHT)).toString('base64')], params: { explain: true } });
  expect(response.status).toBe(200);
  const [dark, bright] = ((await response.json()) as Answer).predictions;
  expect(dark.probability).toEqual(expect.any(Number));
  const explanation = dark.explanation!;
  expect(explanation).toMatchObject({ method: 'HiResCAM', layer: expect.any(String) });
  // Where the evidence lies is tested on a model trained on cells (activation-map.test.ts): this
  // tiny untrained model may find none in an image (a map of zeros is then HiResCAM's right answer).
  for (const value of [explanation.peak.x, explanation.peak.y]) {
    expect(value).toBeGreaterThan(0);
    expect(value).toBeLessThan(1);
  }
  for (const image of [explanation.map_png, explanation.overlay_png]) {
    const bytes = Buffer.from(image, 'base64');
    expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(bytes.readUInt32BE(16)).toBe(INPUT_SIZE);
    expect(await decodeImage(bytes, INPUT_SIZE)).toHaveLength(INPUT_SIZE * INPUT_SIZE * 3);
  }
  expect(bright.explanation?.method).toBe('HiResCAM');
});

test('without explain the answer is as before: no map, nothing computed for it', async () => {
  const server = await start();
  const answer = (await (await post(server, { instances: [await halfDark()] })).json()) as Answer;
  expect(answer.predictions[0]).not.toHaveProperty('explanation');
});

test('a raw PNG body asks with ?explain=true', async () => {
  const server = await start();
  const response = await fetch(`${server.url}/invocations?explain=true`, { method: 'POST', headers: { 'Content-Type': 'image/png' }, body: await png(DARK) });
  expect(response.status).toBe(200);
  expect(((await response.json()) as Answer).predictions[0].explanation?.method).toBe('HiResCAM');
});

test('explain must be true or false, and a model that cannot explain says so', async () => {
  const server = await start();
  const wrong = await post(server, { instances: [await halfDark()], params: { explain: 'yes' } });
  expect(wrong.status).toBe(400);
  expect(((await wrong.json()) as { message: string }).message).toContain('{"explain": true} (an activation map per image)');
  const silent = await start(false);
  const refused = await post(silent, { instances: [await halfDark()], params: { explain: true } });
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { message: string }).message).toBe('this model cannot explain its predictions; send the request without "explain"');
});

test('/metadata says how to ask for a map', async () => {
  const server = await start();
  const metadata = (await (await fetch(`${server.url}/metadata`)).json()) as { explain: string };
  expect(metadata.explain).toMatch(/"params": \{"explain": true\}.*HiResCAM/);
});
