import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { UserError } from '../user-error';
import type { Preprocessing } from './preprocessing';

export const MODEL_FILES = { topology: 'model.json', weights: 'weights.bin', preprocessing: 'preprocessing.json' } as const;

const PreprocessingSchema = z.object({
  inputSize: z.number().int().positive(),
  channels: z.literal(3),
  scale: z.number().positive(),
  classNames: z.array(z.string()).length(2),
  positiveClass: z.string(),
  threshold: z.number().min(0).max(1),
  model: z.string(),
  // Models saved before test-time augmentation existed were scored without it.
  tta: z.boolean().default(false),
});

/**
 * Writes `dir/model.json` + `dir/weights.bin` (TF.js layers format, what `tf.loadLayersModel` and
 * tfjs-node's `file://` read) and `dir/preprocessing.json`. Pure TF.js has no file handler, so the
 * artifacts are captured in memory and written here.
 */
export async function saveModel(model: tf.LayersModel, dir: string, preprocessing: Preprocessing): Promise<void> {
  await mkdir(dir, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (artifacts) => {
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology!,
      format: artifacts.format,
      generatedBy: artifacts.generatedBy,
      convertedBy: artifacts.convertedBy,
      weightsManifest: [{ paths: [`./${MODEL_FILES.weights}`], weights: artifacts.weightSpecs ?? [] }],
    };
    const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    await writeFile(path.join(dir, MODEL_FILES.weights), Buffer.from(weights));
    await writeFile(path.join(dir, MODEL_FILES.topology), JSON.stringify(modelJson));
    return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
  }));
  await writeFile(path.join(dir, MODEL_FILES.preprocessing), `${JSON.stringify(preprocessing, null, 2)}\n`);
}

/** Reads what `saveModel` wrote. Missing or damaged files are a UserError naming the folder. */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; preprocessing: Preprocessing }> {
  const fail = (problem: string): never => {
    throw new UserError(`${dir} does not hold a saved model: ${problem} (expected ${Object.values(MODEL_FILES).join(', ')})`);
  };
  const read = (file: string): Promise<Buffer> => readFile(path.join(dir, file)).catch(() => fail(`cannot read ${file}`));
  const parse = (file: string, text: Buffer): unknown => {
    try {
      return JSON.parse(text.toString('utf8'));
    } catch {
      return fail(`${file} is not valid JSON`);
    }
  };
  const modelJson = parse(MODEL_FILES.topology, await read(MODEL_FILES.topology)) as tf.io.ModelJSON;
  const weights = await read(MODEL_FILES.weights);
  const parsed = PreprocessingSchema.safeParse(parse(MODEL_FILES.preprocessing, await read(MODEL_FILES.preprocessing)));
  if (!parsed.success) return fail(`${MODEL_FILES.preprocessing} is invalid (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`);
  const preprocessing: Preprocessing = parsed.data;

  let model: tf.LayersModel;
  try {
    const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => [
      tf.io.getWeightSpecs(manifest),
      new Uint8Array(weights).buffer,
    ]);
    model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (error) {
    return fail(`${MODEL_FILES.topology} or ${MODEL_FILES.weights} is damaged (${(error as Error).message})`);
  }
  const [, height, width] = model.inputs[0].shape;
  if (height !== preprocessing.inputSize || width !== preprocessing.inputSize) {
    model.dispose();
    return fail(`the model takes ${height}x${width} images but ${MODEL_FILES.preprocessing} says ${preprocessing.inputSize}`);
  }
  return { model, preprocessing };
}
