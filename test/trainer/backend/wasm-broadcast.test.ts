import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../trainer/src/backend/select-backend';
import { fixedValues } from './layer-gradients';

/**
 * Our wasm Tile (batch norm's gradient runs it every step) and the broadcasting binary ops built
 * on it (a global max-pool's gradient compares against the maxima) must give exactly what the
 * cpu backend gives.
 */
type DType = 'float32' | 'int32' | 'bool';

/** Fixed values of `shape`; few distinct levels, so comparisons see many ties. */
function input(shape: number[], seed: number, dtype: DType): tf.Tensor {
  const values = Array.from(fixedValues(tf.util.sizeFromShape(shape), seed), (v) => Math.round(v * 3) / 2 + 0); // + 0: no -0, whose max with 0 either backend may pick
  return tf.tensor(dtype === 'bool' ? values.map((v) => v > 0) : dtype === 'int32' ? values.map(Math.round) : values, shape, dtype);
}

async function on(backend: string, f: () => tf.Tensor): Promise<{ shape: number[]; dtype: string; values: number[] }> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const result = { shape: out.shape, dtype: out.dtype, values: Array.from(await out.data() as ArrayLike<number>) };
  out.dispose();
  return result;
}

beforeAll(async () => {
  await selectBackend('wasm', { threads: 1 });
});

const TILES: Array<[string, number[], number[], DType]> = [
  ['[1,1,1,C] to an activation shape (batch norm gradient)', [1, 1, 1, 5], [3, 7, 6, 1], 'float32'],
  ['every axis repeated, uneven counts', [2, 3, 4], [3, 1, 5], 'float32'],
  ['innermost axis repeated', [4, 3], [1, 7], 'float32'],
  ['nothing repeated (a copy)', [2, 3, 2], [1, 1, 1], 'float32'],
  ['a vector', [3], [9], 'float32'],
  ['int32 values', [2, 2, 3], [2, 3, 1], 'int32'],
  ['bool values', [3, 2], [5, 2], 'bool'],
  ['an empty axis', [2, 0, 3], [2, 4, 1], 'float32'],
];

test.each(TILES)('tile %s: wasm equals the cpu reference', async (_name, shape, reps, dtype) => {
  const build = () => tf.tile(input(shape, 11, dtype), reps);
  const reference = await on('cpu', build);
  expect(reference.values.length === 0 || reference.values.some((v) => v !== 0)).toBe(true);
  expect(await on('wasm', build)).toEqual(reference);
});

const OPS: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, DType]> = [
  ['equal', tf.equal, 'float32'], ['notEqual', tf.notEqual, 'int32'], ['greater', tf.greater, 'float32'],
  ['greaterEqual', tf.greaterEqual, 'float32'], ['less', tf.less, 'int32'], ['lessEqual', tf.lessEqual, 'float32'],
  ['logicalAnd', tf.logicalAnd, 'bool'], ['logicalOr', tf.logicalOr, 'bool'], ['logicalXor', tf.logicalXor, 'bool'],
  ['maximum', tf.maximum, 'float32'], ['minimum', tf.minimum, 'int32'], ['pow', tf.pow, 'float32'], ['floorDiv', tf.floorDiv, 'int32'],
];
const SHAPES: Array<[number[], number[]]> = [[[4, 3, 5, 6], [4, 1, 1, 6]], [[6], [2, 3, 1]], [[2, 3, 4], []]];

describe.each(OPS)('%s with broadcasting', (_name, op, dtype) => {
  test.each(SHAPES)('%j against %j: wasm equals the cpu reference, either way round', async (aShape, bShape) => {
    for (const [x, y] of [[aShape, bShape], [bShape, aShape]]) {
      // floorDiv and pow need a divisor away from zero and a positive base to be exact on both.
      const b = () => (op === tf.floorDiv ? tf.add(tf.abs(input(y, 13, dtype)), 1) : input(y, 13, dtype));
      const a = () => (op === tf.pow ? tf.add(tf.abs(input(x, 12, dtype)), 0.5) : input(x, 12, dtype));
      const build = () => op(a(), b());
      // Shapes and values only: TF.js's own wasm FloorDiv returns float32 where cpu returns int32.
      const { dtype: _cpu, ...reference } = await on('cpu', build);
      const { dtype: _wasm, ...wasm } = await on('wasm', build);
      expect(wasm).toEqual(reference);
    }
  });
});
