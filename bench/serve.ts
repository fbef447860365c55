import { selectBackend } from '../trainer/src/backend/select-backend';
import { encodePng, PngColorType } from '../trainer/src/data/png-encode';
import { mulberry32 } from '../trainer/src/data/random';
import { defaultPreprocessing } from '../trainer/src/models/preprocessing';
import { buildModel } from '../trainer/src/models/registry';
import { createModelPredictor } from '../trainer/src/serve/model-predictor';
import { startModelServer, type RunningModelServer } from '../trainer/src/serve/model-server';

/** The default architecture and input size, so the figures are those of a served NIH model. */
const ARCHITECTURE = 'compact';
const INPUT_SIZE = 100;
/** NIH cells are 40 to 394 px; most are around 130. */
const IMAGE_SIDE = 130;
/** Every loop is bounded by count and by time, and talks only to the loopback server it started. */
const MAX_PHASE_MS = 20_000;

async function noisyCellPng(seed: number): Promise<string> {
  const random = mulberry32(seed);
  const data = new Uint8Array(IMAGE_SIDE * IMAGE_SIDE * 3);
  for (let i = 0; i < data.length; i++) data[i] = 120 + Math.floor(random() * 100);
  return (await encodePng({ width: IMAGE_SIDE, height: IMAGE_SIDE, colorType: PngColorType.rgb, data })).toString('base64');
}

async function invoke(server: RunningModelServer, images: readonly string[]): Promise<void> {
  const response = await fetch(`${server.url}/invocations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ instances: images }),
  });
  if (response.status !== 200) throw new Error(`POST /invocations answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

/** Sequential one-image requests: what one client waiting on each answer sees. */
async function singleImageLatency(server: RunningModelServer, images: readonly string[], count: number) {
  const latencies: number[] = [];
  const deadline = Date.now() + MAX_PHASE_MS;
  for (let i = 0; i < count && Date.now() < deadline; i++) {
    const started = performance.now();
    await invoke(server, [images[i % images.length]]);
    latencies.push(performance.now() - started);
  }
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, p50Ms: round(percentile(latencies, 50), 2), p99Ms: round(percentile(latencies, 99), 2) };
}

/** `clients` loops sending `perRequest` images each, until `total` images or the time limit. */
async function throughput(server: RunningModelServer, images: readonly string[], clients: number, perRequest: number, total: number) {
  const batchesBefore = await batchCount(server);
  let sent = 0;
  const deadline = Date.now() + MAX_PHASE_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      while (sent < total && Date.now() < deadline) {
        sent += perRequest;
        await invoke(server, Array.from({ length: perRequest }, (_, i) => images[(c + i) % images.length]));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const modelCalls = (await batchCount(server)) - batchesBefore;
  return { clients, imagesPerRequest: perRequest, images: sent, imagesPerSecond: round(sent / seconds), meanModelBatch: round(sent / modelCalls) };
}

async function batchCount(server: RunningModelServer): Promise<number> {
  const match = /^model_batch_size_count (\d+)/m.exec(await server.metrics.text());
  return Number(match?.[1] ?? 0);
}

/**
 * Model server figures on CPU: single-image latency through HTTP, JSON, base64, PNG decode and
 * resize, and throughput with many single-image clients (micro-batching) and with batched requests.
 */
export async function benchServe(): Promise<object> {
  const backend = await selectBackend('auto', {});
  const preprocessing = defaultPreprocessing(ARCHITECTURE, INPUT_SIZE);
  const model = buildModel(ARCHITECTURE, { inputSize: INPUT_SIZE, seed: 1 });
  const images = await Promise.all(Array.from({ length: 16 }, (_, i) => noisyCellPng(i)));
  const server = await startModelServer({
    port: 0,
    load: async () => ({
      info: { name: ARCHITECTURE, version: 'bench', source: 'bench', preprocessing },
      predict: createModelPredictor(model, preprocessing),
    }),
  });
  try {
    await server.ready;
    await invoke(server, images.slice(0, 4)); // warm-up: first kernel runs compile and allocate
    return {
      backend: `${backend.name} (${backend.threads} thread${backend.threads > 1 ? 's' : ''})`,
      model: `${ARCHITECTURE} ${INPUT_SIZE}x${INPUT_SIZE}, ${IMAGE_SIDE}x${IMAGE_SIDE} PNG inputs`,
      singleImage: await singleImageLatency(server, images, 100),
      concurrentSingleImages: await throughput(server, images, 16, 1, 256),
      batchedRequests: await throughput(server, images, 2, 32, 512),
    };
  } finally {
    await server.close();
    model.dispose();
  }
}
