import type { ModelListing, ModelOrigin } from '../models/registry';

const COLUMNS = 80;

const ORIGINS: Record<ModelOrigin, string> = {
  study: "the original study's networks (py_tf2_gpu_dock_mlflow, train.py)",
  ours: "this project's",
};

/** One line per model, within 80 columns (a terminal's default width), the default marked, where each comes from, and a legend. */
export function modelTableLines(rows: readonly ModelListing[], inputSize: number, defaultModel: string): string[] {
  const width = Math.max(...rows.map((r) => r.name.length)) + 2;
  const lines = [`models at ${inputSize}x${inputSize}x3 input, parameter counts (* the default):`];
  const params = rows.map((row) => (row.params === null ? `needs >= ${row.minInputSize} px` : row.params.toLocaleString('en-US')));
  const paramsWidth = Math.max(...params.map((p) => p.length));
  const originWidth = Math.max(...rows.map((r) => r.origin.length));
  for (const [i, row] of rows.entries()) {
    const name = `${row.name}${row.name === defaultModel ? ' *' : ''}`.padEnd(width);
    const start = `  ${name}  ${params[i].padStart(paramsWidth)}  ${row.origin.padEnd(originWidth)}  `;
    const room = COLUMNS - start.length;
    lines.push(start + (row.summary.length > room ? `${row.summary.slice(0, room - 3)}...` : row.summary));
  }
  const used = [...new Set(rows.map((r) => r.origin))];
  return [...lines, ...used.map((origin) => `${origin.padStart(originWidth + 2)}: ${ORIGINS[origin]}`)];
}

