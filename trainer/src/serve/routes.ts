import type { IncomingMessage } from 'node:http';
import { version as packageVersion } from '../../../package.json';
import { HttpError } from './http-error';
import { inputContract } from './input-contract';
import type { MicroBatcher } from './micro-batcher';
import { parseInvocation } from './parse-invocation';
import { toPredictions } from './predictions';
import { prepareImage } from './prepare-image';
import { readBody } from './read-body';
import type { ServeMetrics } from './serve-metrics';
import type { ModelInfo, ServedModel } from './served-model';

export interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** Defaults to JSON; a string body with a content type is sent as is. */
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Where the server is in its life: `/ping` and `/health` report it, and only `ready` serves predictions. */
export type ServerState =
  | { readonly phase: 'loading' }
  | { readonly phase: 'failed'; readonly error: string }
  | {
    readonly phase: 'ready'; readonly model: ModelInfo; readonly batcher: MicroBatcher<Uint8Array, number>;
    /** Activation maps for `explain: true`; absent when the model cannot give them. */
    readonly explain?: ServedModel['explain'];
  };

export interface RouteContext {
  readonly state: () => ServerState;
  readonly stopping: () => boolean;
  readonly metrics: ServeMetrics;
  readonly maxBodyBytes: number;
  readonly maxImages: number;
  /** Every route but /health and /ping asks for the bearer token. */
  readonly tokenRequired: boolean;
}

type Handler = (request: IncomingMessage, context: RouteContext) => Promise<Reply> | Reply;

const ROUTES: Record<string, { readonly method: 'GET' | 'POST'; readonly handle: Handler }> = {
  '/invocations': { method: 'POST', handle: invocations },
  '/ping': { method: 'GET', handle: health },
  '/health': { method: 'GET', handle: health },
  '/version': { method: 'GET', handle: version },
  '/metadata': { method: 'GET', handle: metadata },
  '/metrics': { method: 'GET', handle: metrics },
};

export function route(request: IncomingMessage, path: string, context: RouteContext): Promise<Reply> | Reply {
  const entry = ROUTES[path];
  if (!entry) throw new HttpError(404, `no such path ${path}; try POST /invocations, GET /health, /metadata, /metrics or /version`);
  const method = request.method === 'HEAD' ? 'GET' : request.method;
  if (method !== entry.method) throw new HttpError(405, `${path} takes ${entry.method}, not ${request.method}`, { Allow: entry.method });
  return entry.handle(request, context);
}

function health(_request: IncomingMessage, context: RouteContext): Reply {
  const state = context.state();
  if (context.stopping()) return { status: 503, body: { status: 'stopping' } };
  if (state.phase === 'ready') return { status: 200, body: { status: 'ready', model: modelRef(state.model) } };
  if (state.phase === 'failed') return { status: 503, body: { status: 'failed', error: state.error } };
  return { status: 503, body: { status: 'loading' } };
}

function version(_request: IncomingMessage, context: RouteContext): Reply {
  const state = context.state();
  return {
    status: 200,
    body: { server: 'malaria-mlops', version: packageVersion, model: state.phase === 'ready' ? modelRef(state.model) : null },
  };
}

function metadata(_request: IncomingMessage, context: RouteContext): Reply {
  const state = readyState(context);
  const { model } = state;
  const { preprocessing } = model;
  return {
    status: 200,
    body: {
      name: model.name,
      version: model.version,
      source: model.source,
      architecture: preprocessing.model,
      inputSize: preprocessing.inputSize,
      channels: preprocessing.channels,
      scale: preprocessing.scale,
      classes: preprocessing.classNames,
      positiveClass: preprocessing.positiveClass,
      threshold: preprocessing.threshold,
      testTimeAugmentation: preprocessing.tta ? 'mean over the 8 flips and quarter turns of each image' : 'none',
      explain: state.explain
        ? 'send "params": {"explain": true} (or ?explain=true with a raw image) for a HiResCAM activation map per image, PNG in base64'
        : 'not available for this model',
      metrics: model.metrics ?? null,
      input: inputContract(preprocessing.inputSize),
      limits: { maxImages: context.maxImages, maxBodyBytes: context.maxBodyBytes },
      authentication: context.tokenRequired ? 'Authorization: Bearer <MODEL_SERVER_TOKEN>' : 'none',
    },
  };
}

async function metrics(_request: IncomingMessage, context: RouteContext): Promise<Reply> {
  return { status: 200, body: await context.metrics.text(), contentType: context.metrics.contentType };
}

async function invocations(request: IncomingMessage, context: RouteContext): Promise<Reply> {
  const { model, batcher, explain } = readyState(context);
  const body = await readBody(request, context.maxBodyBytes);
  const query = (request.url ?? '').split('?')[1] ?? '';
  const invocation = parseInvocation(request.headers['content-type'], body, { maxImages: context.maxImages }, query);
  if (invocation.explain && !explain) throw new HttpError(400, 'this model cannot explain its predictions; send the request without "explain"');
  const images = await Promise.all(invocation.images.map((input) => prepareImage(input, model.preprocessing.inputSize)));
  const rgb = images.map((image) => image.rgb);
  // Off the micro-batcher: a map takes a gradient, and plain requests should not wait for it.
  const [probabilities, explanations] = await Promise.all([batcher.submit(rgb), invocation.explain ? explain!(rgb) : undefined]);
  const predictions = toPredictions(probabilities, model.preprocessing, images.map((image) => image.warning))
    .map((prediction, i) => (explanations ? { ...prediction, explanation: explanations[i] } : prediction));
  return { status: 200, body: { predictions, model: modelRef(model) } };
}

function readyState(context: RouteContext): Extract<ServerState, { phase: 'ready' }> {
  const state = context.state();
  if (state.phase === 'ready') return state;
  if (state.phase === 'failed') throw new HttpError(503, `the model failed to load: ${state.error}`);
  throw new HttpError(503, 'the model is still loading; retry when GET /health answers 200');
}

function modelRef(model: ModelInfo): { name: string; version: string } {
  return { name: model.name, version: model.version };
}
