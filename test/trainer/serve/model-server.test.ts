import type { LayersModel } from '@tensorflow/tfjs';
import type { Preprocessing } from '../../../trainer/src/models/preprocessing';
import { startModelServer, type ModelServerProps, type RunningModelServer } from '../../../trainer/src/serve/model-server';
import { createModelPredictor } from '../../../trainer/src/serve/model-predictor';
import type { ServedModel } from '../../../trainer/src/serve/served-model';
import { BRIGHT, type Bytes, CELL_SIDE, DARK, INPUT_SIZE, jpeg, pixelArray, png, trainTinyModel } from './tiny-model';

let tiny: { model: LayersModel; preprocessing: Preprocessing };
const servers: RunningModelServer[] = [];

beforeAll(async () => {
  tiny = await trainTinyModel();
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** The trained model behind a spy that records the size of each batch the model was given. */
function servedModel(batches: number[] = [], gate?: Promise<void>): ServedModel {
  const predict = createModelPredictor(tiny.model, tiny.preprocessing);
  return {
    info: { name: 'tiny', version: '7', source: 'test', preprocessing: tiny.preprocessing, metrics: { test_auc: 0.97 } },
    predict: async (images) => {
      batches.push(images.length);
      await gate;
      return predict(images);
    },
  };
}

async function start(props: Partial<ModelServerProps> = {}): Promise<RunningModelServer> {
  const server = await startModelServer({ port: 0, load: async () => servedModel(), ...props });
  servers.push(server);
  await server.ready;
  return server;
}

function postJson(server: RunningModelServer, body: unknown): Promise<Response> {
  return fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface Answer {
  predictions: { probability: number; label: string }[];
  model: { name: string; version: string };
}

async function labels(response: Response): Promise<string[]> {
  expect(response.status).toBe(200);
  const answer = (await response.json()) as Answer;
  return answer.predictions.map((p) => p.label);
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('POST /invocations', () => {
  test('a base64 PNG gets a probability, the label at the threshold and the model name and version', async () => {
    const server = await start();
    const response = await postJson(server, { instances: [b64(await png(DARK))] });
    expect(response.status).toBe(200);
    const answer = (await response.json()) as Answer;
    expect(answer.model).toEqual({ name: 'tiny', version: '7' });
    expect(answer.predictions).toHaveLength(1);
    expect(answer.predictions[0].probability).toBeGreaterThan(0.5);
    expect(answer.predictions[0].label).toBe('Parasitized');
  });

  test('a JPEG, a {"b64"} object and a data URL are read like a PNG', async () => {
    const server = await start();
    const response = await postJson(server, {
      inputs: [b64(await jpeg(BRIGHT)), { b64: b64(await jpeg(DARK)) }, `data:image/png;base64,${b64(await png(BRIGHT))}`],
    });
    expect(await labels(response)).toEqual(['Uninfected', 'Parasitized', 'Uninfected']);
  });

  test('a batch answers in request order, with the probabilities the images get one by one', async () => {
    const server = await start();
    const images = [DARK, BRIGHT, BRIGHT, DARK, BRIGHT];
    const encoded = await Promise.all(images.map(async (level) => b64(await png(level))));
    const batch = (await (await postJson(server, { instances: encoded })).json()) as Answer;
    const single = await Promise.all(
      encoded.map(async (image) => ((await (await postJson(server, { instances: [image] })).json()) as Answer).predictions[0]),
    );
    expect(batch.predictions.map((p) => p.label)).toEqual(['Parasitized', 'Uninfected', 'Uninfected', 'Parasitized', 'Uninfected']);
    batch.predictions.forEach((p, i) => expect(p.probability).toBeCloseTo(single[i].probability, 5));
  });

  test('a raw image/png or image/jpeg body is one image', async () => {
    const server = await start();
    const raw = async (type: string, body: Bytes) =>
      labels(await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'Content-Type': type }, body }));
    expect(await raw('image/png', await png(DARK))).toEqual(['Parasitized']);
    expect(await raw('image/jpeg', await jpeg(BRIGHT))).toEqual(['Uninfected']);
  });

  test('pixel arrays of other sizes are resized to the model input', async () => {
    const server = await start();
    const response = await postJson(server, {
      instances: [pixelArray(DARK, INPUT_SIZE, INPUT_SIZE), pixelArray(BRIGHT, 28, 21), pixelArray(DARK, 21, 24)],
    });
    expect(await labels(response)).toEqual(['Parasitized', 'Uninfected', 'Parasitized']);
  });

  test('dataframe_split with one column of images is accepted', async () => {
    const server = await start();
    const response = await postJson(server, { dataframe_split: { columns: ['image'], data: [[b64(await png(BRIGHT))]] } });
    expect(await labels(response)).toEqual(['Uninfected']);
  });
});

describe('bad input is a 400 naming the problem, and the server keeps serving', () => {
  const corruptPng = async () => b64((await png(DARK)).subarray(0, 60));
  const cases: [string, () => Promise<{ type?: string; body: string | Bytes }>, RegExp][] = [
    ['bad JSON', async () => ({ body: '{"instances": [' }), /not valid JSON/],
    ['wrong content type', async () => ({ type: 'text/plain', body: 'hello' }), /unsupported Content-Type "text\/plain"/],
    ['no envelope key', async () => ({ body: '{"images": []}' }), /"instances" or "inputs".*got keys "images"/],
    ['empty list', async () => ({ body: '{"instances": []}' }), /"instances" is empty/],
    ['bad base64', async () => ({ body: '{"instances": ["not base64!"]}' }), /instances\[0\]: not valid base64/],
    ['not an image', async () => ({ body: JSON.stringify({ inputs: [b64(Buffer.from('GIF89a....'))] }) }), /inputs\[0\]: not a PNG or JPEG image/],
    ['corrupt image', async () => ({ body: JSON.stringify({ instances: [b64(await png(DARK)), await corruptPng()] }) }), /instances\[1\]: corrupt or truncated image/],
    ['corrupt raw body', async () => ({ type: 'image/png', body: (await png(DARK)).subarray(0, 40) }), /body: corrupt or truncated image/],
    ['empty raw body', async () => ({ type: 'image/jpeg', body: '' }), /empty image\/jpeg body/],
    ['ragged pixel rows', async () => ({ body: JSON.stringify({ instances: [[[[1, 2, 3]], [[1, 2, 3], [4, 5, 6]]]] }) }), /instances\[0\]: pixel array row 1/],
    ['four channels', async () => ({ body: JSON.stringify({ instances: [[[[1, 2, 3, 4]]]] }) }), /pixel \[0\]\[0\] is not an \[r, g, b\] triple/],
    ['pixel out of range', async () => ({ body: JSON.stringify({ instances: [[[[1, 300, 3]]]] }) }), /pixel \[0\]\[0\]\[1\] is 300; expected integers from 0 to 255/],
    ['unknown params', async () => ({ body: JSON.stringify({ instances: [[[[1, 2, 3]]]], params: { scale: 255 } }) }), /"params": accepted is \{"pixel_range": "0-255" or "0-1"\}/],
    ['a number instead of an image', async () => ({ body: '{"instances": [42]}' }), /instances\[0\]: got a number/],
    ['too many images', async () => ({ body: JSON.stringify({ instances: Array(4).fill('AAAA') }) }), /4 images in one request; the limit is 3/],
  ];

  test.each(cases)('%s', async (_name, make, message) => {
    const server = await start({ maxImages: 3 });
    const { type, body } = await make();
    const response = await fetch(`${server.url}/invocations`, {
      method: 'POST', headers: { 'Content-Type': type ?? 'application/json' }, body,
    });
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error_code: string; message: string };
    expect(answer.error_code).toBe('BAD_REQUEST');
    expect(answer.message).toMatch(message);
    expect(await labels(await postJson(server, { instances: [b64(await png(DARK))] }))).toEqual(['Parasitized']);
  });

  test('a body over --max-body-mb is a 413 with its own error code', async () => {
    const server = await start({ maxBodyBytes: 10_000 });
    const response = await postJson(server, { instances: [b64(Buffer.alloc(20_000))] });
    expect(response.status).toBe(413);
    const answer = (await response.json()) as { error_code: string; message: string };
    expect(answer.error_code).toBe('REQUEST_TOO_LARGE');
    expect(answer.message).toMatch(/over the 0.01 MB limit \(--max-body-mb\)/);
  });

});

describe('the pixel-array contract: 0-255 integers, or 0-1 numbers when the request says so', () => {
  const scaled = (level: number, size = CELL_SIDE) => pixelArray(level, size, size).map((row) => row.map((px) => px.map((v) => v / 255)));

  test('0-1 numbers sent without saying so are a 400 naming the image, the pixel and both ranges', async () => {
    const server = await start();
    const response = await postJson(server, { instances: [pixelArray(DARK, CELL_SIDE, CELL_SIDE), scaled(BRIGHT)] });
    expect(response.status).toBe(400);
    const { message } = (await response.json()) as { message: string };
    expect(message).toMatch(/^instances\[1\]: pixel \[0\]\[0\]\[0\] is 0\.86\d*; expected integers from 0 to 255 \(for floats from 0 to 1, send "params": \{"pixel_range": "0-1"\}\)/);
  });

  test('with "pixel_range": "0-1" they are scored like the same image in 0-255', async () => {
    const server = await start();
    const asBytes = (await (await postJson(server, { instances: [pixelArray(BRIGHT, CELL_SIDE, CELL_SIDE), pixelArray(DARK, CELL_SIDE, CELL_SIDE)] })).json()) as Answer;
    const asUnit = (await (await postJson(server, { instances: [scaled(BRIGHT), scaled(DARK)], params: { pixel_range: '0-1' } })).json()) as Answer;
    expect(asUnit.predictions.map((p) => p.label)).toEqual(['Uninfected', 'Parasitized']);
    asUnit.predictions.forEach((p, i) => expect(p.probability).toBeCloseTo(asBytes.predictions[i].probability, 5));
  });

  test('a value over 1 in a 0-1 request is a 400 naming the range it declared', async () => {
    const server = await start();
    const response = await postJson(server, { inputs: [pixelArray(BRIGHT, 4, 4)], params: { pixel_range: '0-1' } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message)
      .toMatch(/^inputs\[0\]: pixel \[0\]\[0\]\[0\] is 220; expected numbers from 0 to 1, as "params": \{"pixel_range": "0-1"\} declares/);
  });
});

describe('images too small to hold a cell', () => {
  test.each([
    ['a 1x1 PNG', async () => b64(await png(DARK, 1, 1)), '1x1'],
    ['a JPEG under the model\'s own size', async () => b64(await jpeg(BRIGHT, 15, 18)), '15x18'],
    ['a pixel array', async () => pixelArray(DARK, 30, 12), '30x12'],
  ])('%s is a 400 naming the image, its size and the rule', async (_name, image, size) => {
    const server = await start();
    const response = await postJson(server, { instances: [b64(await png(DARK)), await image()] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe(`instances[1]: ${size} px is too small to hold a cell `
      + `(shorter side under ${INPUT_SIZE} px; the cells the model learned from are 40 to 394 px across): send the crop of one cell at the resolution of the smear`);
  });

});

describe('images far from square', () => {
  test('an oblong image (over 1.5:1) is scored with a warning on its prediction only', async () => {
    const server = await start();
    const response = await postJson(server, { instances: [b64(await png(DARK, 40, 20)), b64(await png(BRIGHT)), pixelArray(BRIGHT, 20, 50)] });
    const answer = (await response.json()) as { predictions: Array<{ label: string; warning?: string }> };
    expect(answer.predictions.map((p) => p.label)).toEqual(['Parasitized', 'Uninfected', 'Uninfected']);
    expect(answer.predictions[0].warning).toMatch(/^image is 40x20 px \(aspect ratio 2\.00\); stretched to a square/);
    expect(answer.predictions[1]).not.toHaveProperty('warning');
    expect(answer.predictions[2].warning).toMatch(/20x50 px \(aspect ratio 2\.50\)/);
  });

  test.each([
    ['a JPEG', async () => b64(await jpeg(DARK, 80, 24))],
    ['a pixel array', async () => pixelArray(DARK, 20, 64)],
  ])('%s over 3:1 is a 400 naming the image and the rule', async (_name, image) => {
    const server = await start();
    const response = await postJson(server, { instances: [b64(await png(DARK)), await image()] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message)
      .toMatch(/^instances\[1\]: \d+x\d+ px \(aspect ratio \d\.\d\d\) is too far from square \(more than 3:1\); .*crop the image around one cell/);
  });
});

describe('MODEL_SERVER_TOKEN', () => {
  const TOKEN = 'a-long-enough-test-token-123';

  test('with a token, scoring and metadata need it; health and ping stay open for load balancers', async () => {
    const server = await start({ token: TOKEN });
    const image = { instances: [b64(await png(DARK))] };
    const unauthenticated = await postJson(server, image);
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.headers.get('www-authenticate')).toBe('Bearer realm="model-server"');
    expect(await unauthenticated.json()).toMatchObject({ error_code: 'UNAUTHENTICATED', message: expect.stringMatching(/^no token: send the header "Authorization: Bearer <token>"/) });
    const wrong = await fetch(`${server.url}/invocations`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: 'Bearer not-the-token' }, body: JSON.stringify(image),
    });
    expect(wrong.status).toBe(401);
    expect(((await wrong.json()) as { message: string }).message).toMatch(/^wrong token/);
    for (const path of ['/metadata', '/metrics', '/version']) expect((await fetch(`${server.url}${path}`)).status).toBe(401);
    for (const path of ['/health', '/ping']) expect((await fetch(`${server.url}${path}`)).status).toBe(200);

    const authorized = { Authorization: `Bearer ${TOKEN}` };
    const scored = await fetch(`${server.url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...authorized }, body: JSON.stringify(image) });
    expect(await labels(scored)).toEqual(['Parasitized']);
    const metadata = (await (await fetch(`${server.url}/metadata`, { headers: authorized })).json()) as Record<string, unknown>;
    expect(metadata.authentication).toBe('Authorization: Bearer <MODEL_SERVER_TOKEN>');
  });

  test('without a token, /metadata says so', async () => {
    const server = await start();
    expect(((await (await fetch(`${server.url}/metadata`)).json()) as Record<string, unknown>).authentication).toBe('none');
  });
});

describe('routing', () => {
  test('with a base path, routes live below it and the root paths are 404', async () => {
    const server = await start({ basePath: '/model' });
    expect(server.url).toMatch(/\/model$/);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    expect(await labels(await postJson(server, { instances: [b64(await png(DARK))] }))).toEqual(['Parasitized']);
    const root = await fetch(server.url.replace(/\/model$/, '/health'));
    expect(root.status).toBe(404);
    expect(((await root.json()) as { message: string }).message).toMatch(/no such path \/health \(outside \/model\)/);
  });

  test('unknown paths are 404 and wrong methods 405', async () => {
    const server = await start();
    expect((await fetch(`${server.url}/predict`)).status).toBe(404);
    const wrong = await fetch(`${server.url}/invocations`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});

describe('health, metadata and metrics', () => {
  test('/ping and /health answer 503 while the model loads, then 200; predictions wait for the model', async () => {
    const loaded = deferred();
    const server = await startModelServer({ port: 0, load: async () => (await loaded.promise, servedModel()) });
    servers.push(server);
    for (const path of ['/ping', '/health']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ status: 'loading' });
    }
    expect((await postJson(server, { instances: [b64(await png(DARK))] })).status).toBe(503);
    loaded.resolve();
    await server.ready;
    for (const path of ['/ping', '/health']) expect((await fetch(`${server.url}${path}`)).status).toBe(200);
  });

  test('a model that fails to load keeps /health at 503 with the reason', async () => {
    const server = await startModelServer({ port: 0, load: async () => Promise.reject(new Error('no model.json in /nowhere')) });
    servers.push(server);
    await expect(server.ready).rejects.toThrow('no model.json');
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ status: 'failed', error: 'no model.json in /nowhere' });
  });

  test('/metadata describes the model; /version names the server and model', async () => {
    const server = await start();
    const metadata = (await (await fetch(`${server.url}/metadata`)).json()) as Record<string, unknown>;
    expect(metadata).toMatchObject({
      name: 'tiny', version: '7', inputSize: INPUT_SIZE, classes: ['Uninfected', 'Parasitized'],
      positiveClass: 'Parasitized', threshold: 0.5, testTimeAugmentation: 'none', metrics: { test_auc: 0.97 },
      input: {
        pixelArray: { range: expect.stringMatching(/^0-255 integers by default; 0-1 numbers with "params": \{"pixel_range": "0-1"\}/) },
        resizedTo: `${INPUT_SIZE}x${INPUT_SIZE}`,
        minSide: { px: INPUT_SIZE },
        aspectRatio: { warnAbove: 1.5, refuseAbove: 3 },
      },
    });
    const version = (await (await fetch(`${server.url}/version`)).json()) as Record<string, unknown>;
    expect(version).toMatchObject({ server: 'malaria-mlops', model: { name: 'tiny', version: '7' } });
  });

  test('/metrics counts requests by path and status, images predicted and latencies', async () => {
    const server = await start();
    await postJson(server, { instances: [b64(await png(DARK)), b64(await png(BRIGHT))] });
    await postJson(server, { instances: [b64(await png(DARK))] });
    await postJson(server, 'not json');
    await fetch(`${server.url}/health`);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(text).toContain('http_requests_total{path="/invocations",method="POST",status="200"} 2');
    expect(text).toContain('http_requests_total{path="/invocations",method="POST",status="400"} 1');
    expect(text).toContain('http_requests_total{path="/health",method="GET",status="200"} 1');
    expect(text).toContain('images_predicted_total 3');
    expect(text).toContain('http_request_duration_seconds_count{path="/invocations"} 3');
    expect(text).toContain('model_ready 1');
  });
});

describe('batching', () => {
  test('concurrent requests share model calls', async () => {
    const batches: number[] = [];
    const server = await start({ load: async () => servedModel(batches), batchWaitMs: 100 });
    const image = b64(await png(DARK));
    const answers = await Promise.all(Array.from({ length: 6 }, () => postJson(server, { instances: [image] })));
    for (const answer of answers) expect(await labels(answer)).toEqual(['Parasitized']);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(6);
    expect(batches.length).toBeLessThan(6);
    const text = await server.metrics.text();
    expect(text).toContain(`model_batch_size_count ${batches.length}`);
  });

  test('a request larger than --max-batch is split into batches of at most that size', async () => {
    const batches: number[] = [];
    const server = await start({ load: async () => servedModel(batches), maxBatch: 2 });
    const response = await postJson(server, { instances: await Promise.all([DARK, BRIGHT, DARK, BRIGHT, DARK].map(async (l) => b64(await png(l)))) });
    expect(await labels(response)).toEqual(['Parasitized', 'Uninfected', 'Parasitized', 'Uninfected', 'Parasitized']);
    expect(batches).toEqual([2, 2, 1]);
  });
});

test('close() refuses new connections and finishes the request in flight', async () => {
  const gate = deferred();
  const batches: number[] = [];
  const server = await startModelServer({ port: 0, load: async () => servedModel(batches, gate.promise) });
  await server.ready;
  const inFlight = postJson(server, { instances: [b64(await png(DARK))] });
  while (batches.length === 0) await new Promise((r) => setTimeout(r, 5));
  const closed = server.close();
  await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  gate.resolve();
  expect(await labels(await inFlight)).toEqual(['Parasitized']);
  await closed;
});
