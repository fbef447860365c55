import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachConcurrent } from './concurrency';
import { formatLabelErrors, LABEL_ERRORS_FILE } from './label-errors';
import { PngColorType, encodePng, type PngImage } from './png-encode';
import { type Random, mulberry32, randomInt, shuffleInPlace, uniform } from './random';
import { CLASS_NAMES } from './types';

export interface SyntheticOptions {
  /** Number of images, split evenly between the two classes (Parasitized gets the odd one). */
  readonly count: number;
  readonly seed: number;
  /** Called after each image is written, with the number written so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Enough patients for a patient-grouped 80/10/10 split to have several in each part. */
const MAX_PATIENTS = 50;
/** Cells per microscope field (`_IMG_<n>`), as in the NIH set where one field yields many cells. */
const CELLS_PER_FIELD = 12;
/**
 * Share of cells filed under the wrong class, as in any hand-labelled set (the NIH set has some too):
 * no model can be right about them, so they cap every test metric near 1 minus this share.
 */
export const WRONG_LABEL_SHARE = 0.03;

/** Bound once for the per-pixel loops: global lookups are slow inside jest's vm context (see random.ts). */
const { min, round, sqrt } = Math;

type Rgb = readonly [number, number, number];

export interface Patient {
  readonly id: string;
  /** Stain tint of this patient's slides: a per-patient shift, so grouping by patient matters. */
  readonly stain: Rgb;
  /** Illumination of this patient's slides: multiplies every colour. */
  readonly brightness: number;
  /** Share of this patient's cells photographed out of focus. */
  readonly blurRate: number;
}

/**
 * Writes a synthetic thin-smear cell set in the NIH layout (`Parasitized/`, `Uninfected/`, files
 * `<patient>_IMG_<field>_cell_<k>.png`), deterministic by seed, and realistically hard: round
 * pinkish cells of varied size on a dark background, with stain colour, brightness and focus that
 * vary between patients. Parasitized cells carry dark purple rings or dots, some of them faint or
 * tiny; uninfected cells carry pale blotches and, like parasitized ones, dark debris (stain
 * precipitate, platelets) that can pass for a parasite; some cells of both are out of focus; and
 * WRONG_LABEL_SHARE of the cells sit in the wrong class folder, listed in LABEL_ERRORS_FILE so the
 * report can mark them. A good model therefore lands in the 0.90s, not at 1.0, and its report has
 * real errors to look at.
 */
export async function writeSyntheticDataset(dir: string, opts: SyntheticOptions): Promise<void> {
  const cells = planSyntheticCells(opts);
  for (const name of CLASS_NAMES) await mkdir(join(dir, name), { recursive: true });
  const wrong = cells.filter((cell) => cell.parasitized !== (cell.label === 1)).map((cell) => cell.file);
  await writeFile(join(dir, LABEL_ERRORS_FILE), formatLabelErrors(wrong, 'Synthetic cells filed under the wrong class on purpose: each is drawn as the other class.'));
  let done = 0;
  await forEachConcurrent(cells, 8, async (cell) => {
    const png = await encodePng(renderSyntheticCell(cell).image);
    await writeFile(join(dir, cell.file), png);
    opts.onProgress?.(++done, cells.length);
  });
}

/** One cell of a synthetic set: where it is filed, and what it shows. */
export interface SyntheticCell {
  /** `<class>/<patient>_IMG_<field>_cell_<k>.png`. */
  readonly file: string;
  /** The class it is filed under: 1 = Parasitized. */
  readonly label: number;
  /** Whether it is drawn with parasites; differs from `label` for the wrongly labelled cells. */
  readonly parasitized: boolean;
  readonly patient: Patient;
  /** Seed of its drawing. */
  readonly seed: number;
}

/** Which cells a set holds, with their patients and labels (wrong ones included), before any is drawn. */
export function planSyntheticCells(opts: Pick<SyntheticOptions, 'count' | 'seed'>): SyntheticCell[] {
  if (!Number.isInteger(opts.count) || opts.count < 2) {
    throw new RangeError(`synthetic image count must be an integer of at least 2, got ${opts.count}`);
  }
  const random = mulberry32(opts.seed);
  const patients = makePatients(random, Math.min(MAX_PATIENTS, Math.ceil(opts.count / 4)));
  const parasitized = Math.ceil(opts.count / 2);
  const cells: SyntheticCell[] = [];
  for (const [label, total] of [[0, opts.count - parasitized], [1, parasitized]] as const) {
    const weights = patients.map(() => uniform(random, 0.5, 1.5));
    const cellsOf = new Map<Patient, number>();
    for (let i = 0; i < total; i++) {
      const patient = patients[pickWeighted(random, weights)];
      const k = cellsOf.get(patient) ?? 0;
      cellsOf.set(patient, k + 1);
      const field = 20250100 + label * 5000 + Math.floor(k / CELLS_PER_FIELD);
      const name = `${patient.id}_IMG_${field}_cell_${k % CELLS_PER_FIELD}.png`;
      // A wrong label: the cell is drawn as the other class but filed (and named) under this one.
      const wrong = random() < WRONG_LABEL_SHARE;
      cells.push({ file: `${CLASS_NAMES[label]}/${name}`, label, parasitized: (label === 1) !== wrong, patient, seed: Math.floor(random() * 2 ** 32) });
    }
  }
  return cells;
}

/** Where a parasite was painted: its centre and outer radius, in pixels of the cell image. */
export interface PlantedParasite {
  readonly x: number;
  readonly y: number;
  readonly radius: number;
}

/** A cell's image as the set holds it, and where its parasites are (none on an uninfected one, whatever its label). */
export function renderSyntheticCell(cell: SyntheticCell): { image: PngImage; parasites: PlantedParasite[] } {
  return drawCell(mulberry32(cell.seed), cell.patient, cell.parasitized);
}

function makePatients(random: Random, count: number): Patient[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `S${String(i + 1).padStart(2, '0')}P${randomInt(random, 1, 9)}thinF`,
    stain: [uniform(random, -18, 18), uniform(random, -15, 15), uniform(random, -15, 15)] as const,
    brightness: uniform(random, 0.85, 1.1),
    blurRate: uniform(random, 0.03, 0.15),
  }));
}

function pickWeighted(random: Random, weights: readonly number[]): number {
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length - 1; i++) {
    r -= weights[i];
    if (r < 0) return i;
  }
  return weights.length - 1;
}

interface Blob {
  readonly x: number;
  readonly y: number;
  /** Outer radius, pixels. */
  readonly radius: number;
  /** 0 for a filled dot; otherwise the ring's inner radius. */
  readonly inner: number;
  readonly color: Rgb;
  readonly opacity: number;
}

/** One cell image, 90 to 170 px on a side (the NIH crops are 40 to 394, most near 130). */
function drawCell(random: Random, patient: Patient, parasitized: boolean): { image: PngImage; parasites: PlantedParasite[] } {
  const width = randomInt(random, 90, 170);
  const height = Math.round(width * uniform(random, 0.85, 1.15));
  const cx = width / 2 + uniform(random, -3, 3);
  const cy = height / 2 + uniform(random, -3, 3);
  const rx = (width / 2) * uniform(random, 0.8, 0.94);
  const ry = (height / 2) * uniform(random, 0.8, 0.94);
  const { stain } = patient;
  const base: Rgb = [
    uniform(random, 200, 230) + stain[0],
    uniform(random, 125, 155) + stain[1],
    uniform(random, 140, 170) + stain[2],
  ];
  const painted = parasitized ? parasites(random, cx, cy, rx, ry) : [];
  const blobs = [
    ...painted,
    ...blotches(random, cx, cy, rx, ry),
    ...debris(random, cx, cy, rx, ry),
  ];
  const edge = min(rx, ry);
  const color = new Float32Array(width * height * 3);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 3) {
      // Normalised elliptic radius: 1 at the membrane; a soft one-pixel edge avoids aliasing.
      const dx = (x + 0.5 - cx) / rx;
      const dy = (y + 0.5 - cy) / ry;
      const d = sqrt(dx * dx + dy * dy);
      const inside = clamp01((1 - d) * edge + 0.5);
      // Red cells look paler in the middle (biconcave) and darker at the rim.
      const d3 = d * d * d;
      const shade = (1 + 0.08 * (1 - d) * (1 - d) - 0.18 * d3 * d3) * inside;
      // Plain arithmetic rather than uniform(): this runs once per pixel.
      const noise = (random() * 12 - 6) * inside + random() * 6 * (1 - inside);
      color[o] = base[0] * shade + noise;
      color[o + 1] = base[1] * shade + noise;
      color[o + 2] = base[2] * shade + noise;
    }
  }
  // Shuffled so a parasite is not always painted over the blotches.
  for (const blob of shuffleInPlace(blobs, random)) paintBlob(color, width, height, blob);
  if (random() < patient.blurRate) boxBlur(color, width, height, randomInt(random, 1, 2));
  const light = patient.brightness * uniform(random, 0.95, 1.05);
  const data = new Uint8Array(color.length);
  for (let i = 0; i < color.length; i++) data[i] = clampByte(color[i] * light);
  return {
    image: { width, height, colorType: PngColorType.rgb, data },
    parasites: painted.map(({ x, y, radius }) => ({ x, y, radius })),
  };
}

/**
 * Parasites: dark purple rings (ring-stage trophozoites) or dots (chromatin). Most cells carry one
 * to three clear ones; about a third carry a single faint one, and some a single tiny dot, which
 * is where models (and microscopists) miss them.
 */
function parasites(random: Random, cx: number, cy: number, rx: number, ry: number): Blob[] {
  const scale = Math.min(rx, ry);
  const kind = random();
  const [count, size, opacity] = kind < 0.9 ? [randomInt(random, 1, 3), [0.09, 0.2], [0.7, 1]]
    : kind < 0.96 ? [1, [0.08, 0.13], [0.55, 0.85]]
      : [1, [0.06, 0.09], [0.7, 0.95]];
  return Array.from({ length: count }, () => {
    const radius = scale * uniform(random, size[0], size[1]);
    const ring = random() < 0.6 && radius > 4;
    return {
      ...placeInside(random, cx, cy, rx, ry, 0.6),
      radius,
      inner: ring ? radius * uniform(random, 0.45, 0.65) : 0,
      color: [uniform(random, 70, 110), uniform(random, 20, 50), uniform(random, 100, 150)] as const,
      opacity: uniform(random, opacity[0], opacity[1]),
    };
  });
}

/** Harmless pale or pink blotches, on cells of both classes: neither dark nor purple. */
function blotches(random: Random, cx: number, cy: number, rx: number, ry: number): Blob[] {
  const scale = Math.min(rx, ry);
  return Array.from({ length: random() < 0.5 ? randomInt(random, 1, 2) : 0 }, () => ({
    ...placeInside(random, cx, cy, rx, ry, 0.6),
    radius: scale * uniform(random, 0.12, 0.25),
    inner: 0,
    color: random() < 0.5
      ? [uniform(random, 230, 250), uniform(random, 190, 215), uniform(random, 200, 225)] as const
      : [uniform(random, 185, 205), uniform(random, 95, 115), uniform(random, 120, 140)] as const,
    opacity: uniform(random, 0.5, 0.8),
  }));
}

/**
 * Debris on cells of both classes: stain precipitate and platelets, small and darkish, greyer than
 * a parasite and mostly near the membrane or just outside it, though some lie right on the cell.
 */
function debris(random: Random, cx: number, cy: number, rx: number, ry: number): Blob[] {
  const scale = Math.min(rx, ry);
  return Array.from({ length: random() < 0.25 ? randomInt(random, 1, 2) : 0 }, () => {
    const grey = uniform(random, 85, 125);
    return {
      ...placeInside(random, cx, cy, rx, ry, random() < 0.5 ? 1.05 : 0.7),
      radius: scale * uniform(random, 0.05, 0.11),
      inner: 0,
      color: [grey + uniform(random, 5, 30), grey - uniform(random, 30, 50), grey + uniform(random, 15, 40)] as const,
      opacity: uniform(random, 0.5, 0.9),
    };
  });
}

/** A point inside the ellipse, at most `reach` of the way from the centre to the membrane. */
function placeInside(random: Random, cx: number, cy: number, rx: number, ry: number, reach: number): { x: number; y: number } {
  const angle = uniform(random, 0, 2 * Math.PI);
  const distance = Math.sqrt(random()) * reach;
  return { x: cx + Math.cos(angle) * rx * distance, y: cy + Math.sin(angle) * ry * distance };
}

/** Blends the blob into the image, with soft one-pixel edges, touching only its bounding box. */
function paintBlob(color: Float32Array, width: number, height: number, blob: Blob): void {
  const top = Math.max(0, Math.floor(blob.y - blob.radius - 1));
  const bottom = Math.min(height - 1, Math.ceil(blob.y + blob.radius + 1));
  const left = Math.max(0, Math.floor(blob.x - blob.radius - 1));
  const right = Math.min(width - 1, Math.ceil(blob.x + blob.radius + 1));
  for (let y = top; y <= bottom; y++) {
    for (let x = left; x <= right; x++) {
      const d = sqrt((x + 0.5 - blob.x) ** 2 + (y + 0.5 - blob.y) ** 2);
      const outer = clamp01(blob.radius - d + 0.5);
      const cover = (blob.inner > 0 ? min(outer, clamp01(d - blob.inner + 0.5)) : outer) * blob.opacity;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) color[o + c] += (blob.color[c] - color[o + c]) * cover;
    }
  }
}

/** Out of focus: a box blur of the given radius, rows then columns, two passes (close to a Gaussian). */
function boxBlur(color: Float32Array, width: number, height: number, radius: number): void {
  const line = new Float32Array(Math.max(width, height) * 3);
  for (let pass = 0; pass < 2; pass++) {
    for (let y = 0; y < height; y++) blurLine(color, y * width * 3, 3, width, radius, line);
    for (let x = 0; x < width; x++) blurLine(color, x * 3, width * 3, height, radius, line);
  }
}

/** Running-sum mean over a window of 2r+1 samples along one row or column, edges clamped. */
function blurLine(color: Float32Array, start: number, stride: number, length: number, radius: number, line: Float32Array): void {
  for (let i = 0; i < length; i++) for (let c = 0; c < 3; c++) line[i * 3 + c] = color[start + i * stride + c];
  const window = 2 * radius + 1;
  for (let c = 0; c < 3; c++) {
    let sum = 0;
    for (let k = -radius; k <= radius; k++) sum += line[Math.min(length - 1, Math.max(0, k)) * 3 + c];
    for (let i = 0; i < length; i++) {
      color[start + i * stride + c] = sum / window;
      sum += line[Math.min(length - 1, i + radius + 1) * 3 + c] - line[Math.max(0, i - radius) * 3 + c];
    }
  }
}

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : round(v);
}
