import { writeFile } from 'node:fs/promises';
import { loadH5wasm } from '../../../trainer/src/models/h5wasm-loader';

export interface FixtureLayer {
  readonly name: string;
  readonly kernel: Float32Array;
  readonly kernelShape: number[];
  readonly bias: Float32Array;
}

/**
 * Writes an .h5 file laid out like Keras' `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`:
 * root attribute `layer_names` (fixed-length byte strings), one group per layer with a
 * `weight_names` attribute listing its datasets `<layer>_W_1:0` and `<layer>_b_1:0`. Layers without weights (input, pools) are listed
 * with empty groups.
 */
export async function writeKerasWeightsH5(file: string, layers: readonly FixtureLayer[], extraLayers: readonly string[] = []): Promise<void> {
  const h5 = await loadH5wasm();
  const scratch = `/fixture-${Date.now()}-${Math.random().toString(36).slice(2)}.h5`;
  const out = new h5.File(scratch, 'w');
  const names = [...extraLayers, ...layers.map((l) => l.name)];
  out.create_attribute('layer_names', names, null, `S${Math.max(...names.map((n) => n.length))}`);
  out.create_attribute('backend', 'tensorflow');
  out.create_attribute('keras_version', '2.0.6');
  for (const name of extraLayers) out.create_group(name).create_attribute('weight_names', [], null, 'S1');
  for (const { name, kernel, kernelShape, bias } of layers) {
    const group = out.create_group(name);
    const weightNames = [`${name}_W_1:0`, `${name}_b_1:0`];
    group.create_attribute('weight_names', weightNames, null, `S${weightNames[0].length}`);
    group.create_dataset({ name: weightNames[0], data: kernel, shape: kernelShape, dtype: '<f' });
    group.create_dataset({ name: weightNames[1], data: bias, shape: [bias.length], dtype: '<f' });
  }
  out.close();
  await writeFile(file, h5.FS!.readFile(scratch));
  h5.FS!.unlink(scratch);
}
