import { z } from 'zod';
import { decodeBase64Image } from './base64-image';
import { badRequest } from './http-error';
import type { ImageInput } from './image-input';
import { PIXEL_RANGES, type PixelRange } from './input-contract';
import { pixelArrayToImage } from './pixel-array';

const ENCODED_TYPES: Record<string, true> = { 'image/png': true, 'image/jpeg': true, 'image/jpg': true };

/** Request-wide settings, MLflow's `params` beside the images. */
const ParamsSchema = z.object({ pixel_range: z.enum(PIXEL_RANGES).optional(), explain: z.boolean().optional() }).strict().optional();

/** MLflow's scoring envelopes: one list of images, under whichever key the client used, and optional params. */
const EnvelopeSchema = z.union([
  z.object({ instances: z.array(z.unknown()), params: z.unknown().optional() }).strict(),
  z.object({ inputs: z.array(z.unknown()), params: z.unknown().optional() }).strict(),
  z.object({
    dataframe_split: z.object({
      columns: z.array(z.unknown()).length(1).optional(),
      index: z.array(z.unknown()).optional(),
      data: z.array(z.array(z.unknown()).length(1)),
    }).strict(),
    params: z.unknown().optional(),
  }).strict(),
]);

const InstanceSchema = z.union([z.string(), z.object({ b64: z.string() }).strict(), z.array(z.unknown())]);

export interface InvocationLimits {
  readonly maxImages: number;
}

/** What a `/invocations` request asks for: its images, and whether each answer should carry an activation map. */
export interface Invocation {
  readonly images: ImageInput[];
  /** `"params": {"explain": true}`, or `?explain=true` beside a raw image body. */
  readonly explain: boolean;
}

/**
 * Reads the images out of a `/invocations` body: a JSON scoring envelope or one raw PNG/JPEG.
 * Every problem becomes a 400 naming the image and what was expected; nothing is decoded yet.
 */
export function parseInvocation(contentType: string | undefined, body: Uint8Array, limits: InvocationLimits, query = ''): Invocation {
  const mediaType = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (ENCODED_TYPES[mediaType]) {
    if (body.length === 0) throw badRequest(`empty ${mediaType} body; send the image file as the request body`);
    return { images: [{ where: 'body', encoded: body }], explain: new URLSearchParams(query).get('explain') === 'true' };
  }
  if (mediaType !== 'application/json' && !mediaType.endsWith('+json')) {
    throw badRequest(
      `unsupported Content-Type "${contentType ?? ''}"; send application/json ({"instances": [...]}), image/png or image/jpeg`,
    );
  }
  const { key, items, params } = readEnvelope(parseJson(body));
  if (items.length === 0) throw badRequest(`"${key}" is empty; send at least one image`);
  if (items.length > limits.maxImages) {
    throw badRequest(`${items.length} images in one request; the limit is ${limits.maxImages} (--max-images): split the request`);
  }
  return { images: items.map((item, i) => readInstance(item, `${key}[${i}]`, params.pixelRange)), explain: params.explain };
}

function parseJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    throw badRequest(`body is not valid JSON: ${(error as Error).message}`);
  }
}

function readEnvelope(json: unknown): { key: string; items: readonly unknown[]; params: RequestParams } {
  const parsed = EnvelopeSchema.safeParse(json);
  if (!parsed.success) {
    const keys = json !== null && typeof json === 'object' && !Array.isArray(json) ? Object.keys(json) : [];
    throw badRequest(
      'JSON body must be an object with one key of "instances" or "inputs" (a list of images) or "dataframe_split" ' +
        `(one column of images), and optionally "params"; got ${keys.length ? `keys ${keys.map((k) => `"${k}"`).join(', ')}` : describe(json)}`,
    );
  }
  const envelope = parsed.data;
  const params = readParams(envelope.params);
  if ('instances' in envelope) return { key: 'instances', items: envelope.instances, params };
  if ('inputs' in envelope) return { key: 'inputs', items: envelope.inputs, params };
  return { key: 'dataframe_split.data', items: envelope.dataframe_split.data.map((row) => row[0]), params };
}

interface RequestParams {
  readonly pixelRange: PixelRange;
  readonly explain: boolean;
}

function readParams(params: unknown): RequestParams {
  const parsed = ParamsSchema.safeParse(params);
  if (!parsed.success) {
    throw badRequest(`"params": accepted is {"pixel_range": ${PIXEL_RANGES.map((r) => `"${r}"`).join(' or ')}} (how pixel arrays are scaled) `
      + `and {"explain": true} (an activation map per image); got ${JSON.stringify(params)}`);
  }
  return { pixelRange: parsed.data?.pixel_range ?? '0-255', explain: parsed.data?.explain ?? false };
}

function readInstance(item: unknown, where: string, pixelRange: PixelRange): ImageInput {
  const parsed = InstanceSchema.safeParse(item);
  if (!parsed.success) {
    throw badRequest(
      `${where}: got ${describe(item)}; expected a base64-encoded PNG or JPEG string, {"b64": "..."}, ` +
        'or a height x width x 3 pixel array',
    );
  }
  const value = parsed.data;
  if (typeof value === 'string') return { where, encoded: decodeBase64Image(value, where) };
  if (Array.isArray(value)) return { where, pixels: pixelArrayToImage(value, where, pixelRange) };
  return { where, encoded: decodeBase64Image(value.b64, `${where}.b64`) };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).map((k) => `"${k}"`).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}
