import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { renderAsync } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The files one chart was written to. */
export interface ChartFiles {
  readonly png: string;
  readonly svg: string;
}

/**
 * Charts name Roboto first and resvg is given only the Roboto files we ship, never the system fonts:
 * a PNG looks the same on a laptop, in CI and in a bare container, and the SVG still falls back to
 * the viewer's sans-serif.
 */
export const CHART_FONT = 'Roboto, sans-serif';
const FONT_FILES = ['400Regular/Roboto_400Regular.ttf', '700Bold/Roboto_700Bold.ttf'];

/** PNGs are drawn at twice the SVG's size so they stay sharp on high-density screens. */
const PNG_ZOOM = 2;

/** Renders a vega-lite spec headless and writes `<base>.svg` and `<base>.png` (`base` may already end in .png or .svg). */
export async function renderChart(spec: TopLevelSpec, file: string): Promise<ChartFiles> {
  const base = file.replace(/\.(png|svg)$/i, '');
  const files: ChartFiles = { png: `${base}.png`, svg: `${base}.svg` };
  const svg = await toSvg(spec);
  const png = await renderAsync(svg, {
    font: { loadSystemFonts: false, fontFiles: fontFiles(), defaultFontFamily: 'Roboto', sansSerifFamily: 'Roboto' },
    fitTo: { mode: 'zoom', value: PNG_ZOOM },
    background: 'white',
  });
  await mkdir(dirname(base), { recursive: true });
  await Promise.all([writeFile(files.svg, svg), writeFile(files.png, png.asPng())]);
  return files;
}

export async function toSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** From the npm package, or else from `fonts/` beside the running script (where an esbuild bundle can copy them). */
function fontFiles(): string[] {
  return FONT_FILES.map((file) => {
    try {
      return require.resolve(`@expo-google-fonts/roboto/${file}`);
    } catch {
      const besideScript = join(__dirname, 'fonts', basename(file));
      if (existsSync(besideScript)) return besideScript;
      throw new Error(
        `the chart font ${basename(file)} is missing: install the npm package @expo-google-fonts/roboto, or copy the file to ${dirname(besideScript)}`,
      );
    }
  });
}
