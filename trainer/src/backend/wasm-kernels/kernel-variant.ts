import * as v8 from 'node:v8';

/**
 * The builds of our training kernels (simd/build.mjs), fastest first: `relaxed-simd` multiplies
 * and adds with relaxed SIMD's f32x4.relaxed_madd (one fused multiply-add instruction on x86 with
 * FMA3 and on ARM), `simd` with a multiply and an add (128-bit WebAssembly SIMD, any Node.js here).
 */
export const KERNEL_VARIANTS = ['relaxed-simd', 'simd'] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];
/** `auto`: relaxed-simd where the engine runs it, else simd. */
export type KernelVariantChoice = KernelVariant | 'auto';

// v128.const 0 (opcode 0xfd 0x0c and 16 zero bytes).
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
/** The smallest module using f32x4.relaxed_madd (0xfd 0x85 0x02): (func (drop (relaxed_madd 0 0 0))). */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // \0asm, version 1
  1, 4, 1, 0x60, 0, 0, // types: () -> ()
  3, 2, 1, 0, // one function of type 0
  10, 62, 1, 60, 0, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x1a, 0x0b, // its code
]);

let relaxedSupported: boolean | undefined;

/**
 * Whether this engine runs relaxed SIMD. V8 ships it from 11.4 (Node.js 22 on), where the flag
 * that enabled it before is gone: Node 22 and 24 refuse `--experimental-wasm-relaxed-simd` as a
 * bad option, so no npm script can pass it to every supported Node. On Node 20 (V8 11.3) it is set
 * here instead, before any module using relaxed SIMD is compiled (V8 reads it at compile time).
 */
export function relaxedSimdSupported(): boolean {
  if (relaxedSupported === undefined) {
    relaxedSupported = WebAssembly.validate(RELAXED_PROBE);
    if (!relaxedSupported && v8Before(11, 4)) {
      v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
      relaxedSupported = WebAssembly.validate(RELAXED_PROBE);
    }
  }
  return relaxedSupported;
}

/** The variant to run for `choice`; a forced relaxed-simd that the engine cannot run is an error that says why. */
export function chooseKernelVariant(choice: KernelVariantChoice): KernelVariant {
  if (choice === 'simd') return 'simd';
  if (relaxedSimdSupported()) return 'relaxed-simd';
  if (choice === 'relaxed-simd') {
    throw new Error(`this JavaScript engine (V8 ${process.versions.v8}) does not run WebAssembly relaxed SIMD: use Node.js 20, 22 or later`);
  }
  return 'simd';
}

function v8Before(major: number, minor: number): boolean {
  const [a, b] = process.versions.v8.split('.').map(Number);
  return a < major || (a === major && b < minor);
}
