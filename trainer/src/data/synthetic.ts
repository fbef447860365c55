import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { forEachConcurrent } from './concurrency';
import { PngColorType, encodePng } from './png-encode';
import { type Random, mulberry32, randomInt, uniform } from './random';
import { CLASS_NAMES } from './types';

export interface SyntheticOptions {
  /** Number of images, split evenly between the two classes (Parasitized gets the odd one). */
  readonly count: number;
  readonly seed: number;
}

/** Enough patients for a patient-grouped 80/10/10 split to have several in each part. */
const MAX_PATIENTS = 20;
/** Cells per microscope field (`_IMG_<n>`), as in the NIH set where one field yields many cells. */
const CELLS_PER_FIELD = 12;

/** Bound once for the per-pixel loops: global lookups are slow inside jest's vm context (see random.ts). */
const { min, round, sqrt } = Math;

type Rgb = readonly [number, number, number];

interface Patient {
  readonly id: string;
  /** Stain tint of this patient's slides: a per-patient shift, so grouping by patient matters. */
  readonly stain: Rgb;
}

/**
 * Writes a synthetic thin-smear cell set in the NIH layout (`Parasitized/`, `Uninfected/`, files
 * `<patient>_IMG_<field>_cell_<k>.png`), deterministic by seed: round pinkish cells of varied size on a
 * dark background; parasitized cells carry one to three dark purple rings or dots, while about half the
 * uninfected ones carry pale or pink blotches, so the classes differ in what the inclusions look like,
 * not in whether a cell has a mark.
 */
export async function writeSyntheticDataset(dir: string, opts: SyntheticOptions): Promise<void> {
  if (!Number.isInteger(opts.count) || opts.count < 2) {
    throw new RangeError(`synthetic image count must be an integer of at least 2, got ${opts.count}`);
  }
  const random = mulberry32(opts.seed);
  const patients = makePatients(random, Math.min(MAX_PATIENTS, Math.ceil(opts.count / 4)));
  const parasitized = Math.ceil(opts.count / 2);
  const jobs: { path: string; label: number; patient: Patient; seed: number }[] = [];
  for (const [label, total] of [[0, opts.count - parasitized], [1, parasitized]] as const) {
    const weights = patients.map(() => uniform(random, 0.5, 1.5));
    const cellsOf = new Map<Patient, number>();
    for (let i = 0; i < total; i++) {
      const patient = patients[pickWeighted(random, weights)];
      const k = cellsOf.get(patient) ?? 0;
      cellsOf.set(patient, k + 1);
      const field = 20250100 + label * 5000 + Math.floor(k / CELLS_PER_FIELD);
      const name = `${patient.id}_IMG_${field}_cell_${k % CELLS_PER_FIELD}.png`;
      jobs.push({ path: join(CLASS_NAMES[label], name), label, patient, seed: Math.floor(random() * 2 ** 32) });
    }
  }
  for (const name of CLASS_NAMES) await mkdir(join(dir, name), { recursive: true });
  await forEachConcurrent(jobs, 8, async (job) => {
    const png = await encodePng(drawCell(mulberry32(job.seed), job.patient.stain, job.label === 1));
    await writeFile(join(dir, job.path), png);
  });
}

function makePatients(random: Random, count: number): Patient[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `S${String(i + 1).padStart(2, '0')}P${randomInt(random, 1, 9)}thinF`,
    stain: [uniform(random, -18, 18), uniform(random, -15, 15), uniform(random, -15, 15)] as const,
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
function drawCell(random: Random, stain: Rgb, parasitized: boolean) {
  const width = randomInt(random, 90, 170);
  const height = Math.round(width * uniform(random, 0.85, 1.15));
  const cx = width / 2 + uniform(random, -3, 3);
  const cy = height / 2 + uniform(random, -3, 3);
  const rx = (width / 2) * uniform(random, 0.8, 0.94);
  const ry = (height / 2) * uniform(random, 0.8, 0.94);
  const base: Rgb = [
    uniform(random, 200, 230) + stain[0],
    uniform(random, 125, 155) + stain[1],
    uniform(random, 140, 170) + stain[2],
  ];
  const blobs = parasitized ? inclusions(random, cx, cy, rx, ry) : distractors(random, cx, cy, rx, ry);
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
  for (const blob of blobs) paintBlob(color, width, height, blob);
  const data = new Uint8Array(color.length);
  for (let i = 0; i < color.length; i++) data[i] = clampByte(color[i]);
  return { width, height, colorType: PngColorType.rgb, data };
}

/** Parasites: dark purple rings (ring-stage trophozoites) or dots (chromatin), 1 to 3 of them. */
function inclusions(random: Random, cx: number, cy: number, rx: number, ry: number): Blob[] {
  const scale = Math.min(rx, ry);
  return Array.from({ length: randomInt(random, 1, 3) }, () => {
    const radius = scale * uniform(random, 0.09, 0.2);
    const ring = random() < 0.6;
    return {
      ...placeInside(random, cx, cy, rx, ry),
      radius,
      inner: ring ? radius * uniform(random, 0.45, 0.65) : 0,
      color: [uniform(random, 70, 110), uniform(random, 20, 50), uniform(random, 100, 150)] as const,
      opacity: uniform(random, 0.7, 1),
    };
  });
}

/** Harmless marks on uninfected cells: pale or pink blotches that are neither dark nor purple. */
function distractors(random: Random, cx: number, cy: number, rx: number, ry: number): Blob[] {
  const scale = Math.min(rx, ry);
  return Array.from({ length: random() < 0.5 ? randomInt(random, 1, 2) : 0 }, () => ({
    ...placeInside(random, cx, cy, rx, ry),
    radius: scale * uniform(random, 0.12, 0.25),
    inner: 0,
    color: random() < 0.5
      ? [uniform(random, 230, 250), uniform(random, 190, 215), uniform(random, 200, 225)] as const
      : [uniform(random, 185, 205), uniform(random, 95, 115), uniform(random, 120, 140)] as const,
    opacity: uniform(random, 0.5, 0.8),
  }));
}

function placeInside(random: Random, cx: number, cy: number, rx: number, ry: number): { x: number; y: number } {
  const angle = uniform(random, 0, 2 * Math.PI);
  const distance = Math.sqrt(random()) * 0.6;
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

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : round(v);
}
