import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tf from '@tensorflow/tfjs';
import { UserError } from '../../../trainer/src/user-error';
import { loadModel, saveModel } from '../../../trainer/src/models/model-files';
import { defaultPreprocessing } from '../../../trainer/src/models/preprocessing';
import { buildModel } from '../../../trainer/src/models/registry';

let root: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(path.join(tmpdir(), 'model-files-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function savedMicro(name: string): Promise<string> {
  const dir = path.join(root, name, 'model');
  const model = buildModel('micro', { inputSize: 24, seed: 3 });
  await saveModel(model, dir, defaultPreprocessing('micro', 24, 0.4));
  model.dispose();
  return dir;
}

describe('saveModel and loadModel', () => {
  test.each(['micro', 'compact'])('a saved %s model predicts exactly as before, with its preprocessing', async (name) => {
    const dir = path.join(root, `round-trip-${name}`);
    const model = buildModel(name, { inputSize: 24, seed: 3 });
    // Move batch-norm statistics and weights away from their initial values, as training would.
    const trained = model.getWeights().map((w, i) => tf.randomUniform(w.shape, 0.5, 1.5, 'float32', i + 1));
    model.setWeights(trained);
    tf.dispose(trained);
    const images = tf.randomUniform([4, 24, 24, 3], 0, 1, 'float32', 9);
    const before = (model.predict(images) as tf.Tensor).dataSync();

    await saveModel(model, dir, defaultPreprocessing(name, 24, 0.35));
    const { model: loaded, preprocessing } = await loadModel(dir);

    expect((loaded.predict(images) as tf.Tensor).dataSync()).toEqual(before);
    expect(preprocessing).toEqual(defaultPreprocessing(name, 24, 0.35));
    expect((await readdir(dir)).sort()).toEqual(['model.json', 'preprocessing.json', 'weights.bin']);
    images.dispose();
    model.dispose();
    loaded.dispose();
  });

  test('a folder without a model is a user error naming the folder', async () => {
    const dir = path.join(root, 'empty');
    await expect(loadModel(dir)).rejects.toThrow(UserError);
    await expect(loadModel(dir)).rejects.toThrow(`${dir} does not hold a saved model: cannot read model.json`);
  });

  test.each([
    ['model.json', '{"modelTopology": ', 'model.json is not valid JSON'],
    ['weights.bin', 'short', 'model.json or weights.bin is damaged'],
    ['preprocessing.json', '{"inputSize": 24}', 'preprocessing.json is invalid'],
  ])('a damaged %s is a user error naming the folder', async (file, content, message) => {
    const dir = await savedMicro(`damaged-${file}`);
    await writeFile(path.join(dir, file), content);
    await expect(loadModel(dir)).rejects.toThrow(UserError);
    await expect(loadModel(dir)).rejects.toThrow(`${dir} does not hold a saved model: ${message}`);
  });

  test('test-time augmentation is kept with the model; a model saved before it existed is scored without it', async () => {
    const dir = await savedMicro('tta');
    await writeFile(path.join(dir, 'preprocessing.json'), JSON.stringify(defaultPreprocessing('micro', 24, 0.4, true)));
    expect((await loadModel(dir)).preprocessing.tta).toBe(true);
    const { tta: _, ...older } = defaultPreprocessing('micro', 24, 0.4);
    await writeFile(path.join(dir, 'preprocessing.json'), JSON.stringify(older));
    expect((await loadModel(dir)).preprocessing).toEqual(defaultPreprocessing('micro', 24, 0.4));
  });

  test('preprocessing that disagrees with the model input is a user error', async () => {
    const dir = await savedMicro('mismatch');
    await writeFile(path.join(dir, 'preprocessing.json'), JSON.stringify(defaultPreprocessing('micro', 64)));
    await expect(loadModel(dir)).rejects.toThrow('the model takes 24x24 images but preprocessing.json says 64');
  });
});
