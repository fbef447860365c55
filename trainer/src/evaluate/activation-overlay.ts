import { encodePng, PngColorType } from '../data/png-encode';

/** How opaque the map is where it is strongest; elsewhere the cell shows through in proportion. */
const MAX_OPACITY = 0.7;

/** Dark red, through orange, to yellow at the strongest: the colours of the map over the cell. */
const HEAT: readonly (readonly [number, number, number])[] = [[110, 0, 0], [230, 40, 0], [255, 150, 0], [255, 255, 60]];

function heat(value: number): readonly [number, number, number] {
  const position = Math.min(1, Math.max(0, value)) * (HEAT.length - 1);
  const i = Math.min(HEAT.length - 2, Math.floor(position));
  const t = position - i;
  return [0, 1, 2].map((c) => HEAT[i][c] + (HEAT[i + 1][c] - HEAT[i][c]) * t) as unknown as readonly [number, number, number];
}

/**
 * The cell with its activation map laid over it, as a PNG: heat colours where the model found
 * evidence for the positive class, opaque in proportion to it, so the cell shows through elsewhere.
 * `rgb` is size x size RGB bytes, `map` size x size values from 0 to 1.
 */
export function overlayPng(rgb: Uint8Array, map: Float32Array, size: number): Promise<Buffer> {
  const data = new Uint8Array(size * size * 3);
  for (let k = 0; k < size * size; k++) {
    const alpha = MAX_OPACITY * map[k];
    const colour = heat(map[k]);
    for (let c = 0; c < 3; c++) data[k * 3 + c] = Math.round(rgb[k * 3 + c] * (1 - alpha) + colour[c] * alpha);
  }
  return encodePng({ width: size, height: size, colorType: PngColorType.rgb, data });
}

/** The map alone as a grey PNG: 0 no evidence, 255 the image's strongest. */
export function mapPng(map: Float32Array, size: number): Promise<Buffer> {
  return encodePng({ width: size, height: size, colorType: PngColorType.grey, data: Uint8Array.from(map, (v) => Math.round(255 * v)) });
}
