import * as tf from '@tensorflow/tfjs';

type SymbolicTensor = tf.SymbolicTensor;

/** Where in one image the model found evidence for the positive class. */
export interface ActivationMap {
  /** size x size values, row-major, 0 (no evidence) to 1 (the image's strongest), at the model's input size. */
  readonly values: Float32Array;
  /** The strongest pixel, in the model's input pixels. */
  readonly peak: { readonly x: number; readonly y: number };
  /** The map before its positive part is kept and scaled, summed: evidence for the positive class in logit units. */
  readonly evidence: number;
  /** The model's logit for the image (P = sigmoid(logit)). */
  readonly logit: number;
}

export interface ActivationMapper {
  /** The layer whose output the map is read from: the model's last spatial feature map. */
  readonly layer: string;
  /** Its height and width: the map's own resolution before it is scaled up to the input. */
  readonly resolution: readonly [number, number];
  /** Maps for `count` images of the model's input size, uint8 RGB one after another, scaled by `scale` as the model expects. */
  explain(pixels: Uint8Array, count: number, scale: number): Promise<ActivationMap[]>;
}

/** Images mapped per call of the model: bounds memory on big models, costs nothing on small ones. */
const CHUNK = 32;

/**
 * HiResCAM (Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations of
 * convolutional neural networks"): at each position of the model's last spatial feature map A,
 * sum over channels of dlogit/dA * A, its positive part scaled up to the input. Grad-CAM would
 * first average the gradients over positions; HiResCAM keeps them per position, which matters for
 * the heads we ship: under a global max (`micro`, `compact`) only the strongest position counts,
 * and under Flatten + Dense each position has weights of its own, so Grad-CAM would credit every
 * place a channel fires. For a head that is linear from A to the logit (average + max pooling,
 * Flatten + Dense(1)) the map is exact: its positions add up to the logit less the output's bias.
 *
 * The feature map is found from the graph, not by model name: the one tensor with a spatial
 * (4-D) shape that a layer without one (Flatten, a global pooling) consumes. The gradient runs
 * through the head only, so a map costs about one forward pass.
 */
export function createActivationMapper(model: tf.LayersModel): ActivationMapper {
  const output = model.outputs[0];
  const outputLayer = output.sourceLayer;
  const outputConfig = outputLayer.getConfig();
  if (outputLayer.getClassName() !== 'Dense' || outputConfig.units !== 1 || outputConfig.activation !== 'sigmoid') {
    throw new Error(`model ${model.name} does not end in one sigmoid unit (Dense(1, sigmoid)); activation maps need its logit (please report it)`);
  }
  const feature = featureMap(model, output);
  const headInput = tf.input({ shape: feature.shape.slice(1) as number[] });
  const body = tf.model({ inputs: model.inputs, outputs: feature });
  const head = tf.model({ inputs: headInput, outputs: reapply(output.inputs[0], feature, headInput, model.name) });
  const [kernel, bias] = outputLayer.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const [height, width] = feature.shape.slice(1, 3) as [number, number];
  const size = model.inputs[0].shape[1] as number;

  const explainChunk = async (x: tf.Tensor4D): Promise<ActivationMap[]> => {
    const n = x.shape[0];
    const [evidenceMap, logits] = tf.tidy(() => {
      const a = body.predict(x) as tf.Tensor4D;
      const logitsOf = (t: tf.Tensor) => tf.add(tf.matMul(head.apply(t, { training: false }) as tf.Tensor2D, kernel), bias).reshape([n]);
      // Images do not interact at inference (batch norm uses its moving statistics): the sum's gradient is each image's own.
      const grad = tf.grad((t) => logitsOf(t).sum())(a);
      return [tf.sum(tf.mul(grad, a), -1), logitsOf(a)] as [tf.Tensor3D, tf.Tensor1D];
    });
    const upsampled = tf.tidy(() => tf.image.resizeBilinear(tf.relu(evidenceMap).expandDims(-1) as tf.Tensor4D, [size, size], false, true));
    const [coarse, fine, logitValues] = await Promise.all([evidenceMap.data(), upsampled.data(), logits.data()]);
    tf.dispose([evidenceMap, upsampled, logits]);
    return Array.from({ length: n }, (_, i) => {
      const values = Float32Array.from(fine.subarray(i * size * size, (i + 1) * size * size));
      let top = 0;
      for (let k = 1; k < values.length; k++) if (values[k] > values[top]) top = k;
      const max = values[top];
      if (max > 0) for (let k = 0; k < values.length; k++) values[k] /= max;
      let evidence = 0;
      for (let k = i * height * width; k < (i + 1) * height * width; k++) evidence += coarse[k];
      return { values, peak: { x: top % size, y: Math.floor(top / size) }, evidence, logit: logitValues[i] };
    });
  };

  return {
    layer: feature.sourceLayer.name,
    resolution: [height, width],
    async explain(pixels, count, scale) {
      const stride = size * size * 3;
      if (pixels.length !== count * stride) throw new RangeError(`${pixels.length} bytes are not ${count} images of ${size}x${size} RGB`);
      const maps: ActivationMap[] = [];
      for (let start = 0; start < count; start += CHUNK) {
        const end = Math.min(count, start + CHUNK);
        const x = tf.tidy(() => tf.tensor4d(pixels.subarray(start * stride, end * stride), [end - start, size, size, 3], 'float32').mul(scale)) as tf.Tensor4D;
        try {
          maps.push(...await explainChunk(x));
        } finally {
          x.dispose();
        }
      }
      return maps;
    },
  };
}

/**
 * The model's last spatial feature map: the 4-D tensor that the layers collapsing space
 * (Flatten, global pooling) read. There must be exactly one.
 */
function featureMap(model: tf.LayersModel, output: SymbolicTensor): SymbolicTensor {
  const tensors = new Map<number, SymbolicTensor>();
  const visit = (t: SymbolicTensor) => {
    if (tensors.has(t.id)) return;
    tensors.set(t.id, t);
    t.inputs.forEach(visit);
  };
  visit(output);
  const spatial = (t: SymbolicTensor) => t.rank === 4;
  const fed = new Map<number, SymbolicTensor>();
  for (const t of tensors.values()) {
    if (spatial(t)) continue;
    for (const input of t.inputs) if (spatial(input)) fed.set(input.id, input);
  }
  const candidates = [...fed.values()];
  if (candidates.length !== 1) {
    const names = candidates.map((t) => t.sourceLayer.name).join(', ') || 'none';
    throw new Error(`model ${model.name}: expected one spatial feature map feeding its head, found ${names} (please report it)`);
  }
  return candidates[0];
}

/** The layers from `from` to `to`, applied again on `input` (sharing their weights): the model's head as a model of its own. */
function reapply(to: SymbolicTensor, from: SymbolicTensor, input: SymbolicTensor, modelName: string): SymbolicTensor {
  const mapped = new Map<number, SymbolicTensor>([[from.id, input]]);
  const build = (t: SymbolicTensor): SymbolicTensor => {
    const done = mapped.get(t.id);
    if (done) return done;
    if (t.inputs.length === 0) {
      throw new Error(`model ${modelName}: its head reads ${t.sourceLayer.name} besides the feature map; activation maps cannot be computed (please report it)`);
    }
    const inputs = t.inputs.map(build);
    const out = t.sourceLayer.apply(inputs.length === 1 ? inputs[0] : inputs, t.callArgs) as SymbolicTensor | SymbolicTensor[];
    const result = Array.isArray(out) ? out[t.outputTensorIndex ?? 0] : out;
    mapped.set(t.id, result);
    return result;
  };
  return build(to);
}
