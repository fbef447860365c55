import * as tf from '@tensorflow/tfjs';
import { KernelArgs, release, transpose } from './kernel-calls';

type MatMulInputs = 'a' | 'b' | 'bias' | 'preluActivationWeights';

/**
 * TF.js's wasm matmul uses XNNPACK only for a single untransposed product; the transposed
 * products of every Dense gradient fall to a scalar loop. Transposing the (small) operand
 * first keeps them on XNNPACK.
 */
export function xnnpackMatMul(
  original: tf.KernelFunc,
): (args: KernelArgs<MatMulInputs, tf.BatchMatMulAttrs>) => tf.TensorInfo {
  return (args) => {
    const { backend, inputs } = args;
    const { transposeA, transposeB } = args.attrs;
    const single = isSingleMatrix(inputs.a) && isSingleMatrix(inputs.b);
    // Below this many multiply-adds the scalar loop beats creating an XNNPACK operator.
    const small = tf.util.sizeFromShape(inputs.a.shape) * inputs.b.shape[inputs.b.shape.length - (transposeB ? 2 : 1)] < 65_536;
    if (!single || small || (!transposeA && !transposeB)) return original(args as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    const a = transposeA ? transpose(backend, inputs.a, swapLastTwo(inputs.a.shape.length)) : inputs.a;
    const b = transposeB ? transpose(backend, inputs.b, swapLastTwo(inputs.b.shape.length)) : inputs.b;
    const out = original({
      ...args,
      inputs: { ...inputs, a, b },
      attrs: { ...args.attrs, transposeA: false, transposeB: false },
    } as unknown as Parameters<tf.KernelFunc>[0]) as tf.TensorInfo;
    if (a !== inputs.a) release(backend, a);
    if (b !== inputs.b) release(backend, b);
    return out;
  };
}

function isSingleMatrix(x: tf.TensorInfo): boolean {
  return x.shape.length >= 2 && tf.util.sizeFromShape(x.shape.slice(0, -2)) === 1;
}

function swapLastTwo(rank: number): number[] {
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}
