import path from 'node:path';
import { NIH_DATASET } from '../config';

/**
 * The name a run's data set is recorded under (MLflow's dataset input, the run folder): what was
 * really read, so synthetic or local images are never filed as the NIH set.
 * @param source what `--data` resolved to: the NIH URL, another URL, `synthetic:N`, a zip or a folder
 */
export function datasetName(source: string): string {
  if (source === NIH_DATASET.url) return 'nih-malaria-cell-images';
  const synthetic = /^synthetic:(\d+)$/.exec(source);
  if (synthetic) return `synthetic-cells-${synthetic[1]}`;
  const location = /^[a-z][a-z0-9+.-]*:\/\//i.test(source) ? new URL(source).pathname : source;
  const base = path.posix.basename(location.replace(/\\/g, '/').replace(/\/+$/, '')).replace(/\.zip$/i, '');
  return base || source;
}
