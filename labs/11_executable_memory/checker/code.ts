/**
 * The checker's own copy of lab 11's machine code: `add(a, b)` returns
 * `a + b + K` (32-bit, wrapping), with `K` a little-endian int32 at a known
 * byte. The student's file has the same bytes (`ADD_CODE`); the checks
 * compare against this copy, never against the student's.
 *
 * Both encodings were checked with an assembler and a disassembler
 * (`llvm-mc --triple=x86_64 -x86-asm-syntax=intel`, `--triple=aarch64`):
 *
 * ```text
 * x86-64 (System V: a in edi, b in esi, result in eax)
 *   0: 8d 04 37            lea eax, [rdi + rsi]
 *   3: 05 2a 00 00 00      add eax, 42            K: the imm32, bytes 4-7
 *   8: c3                  ret
 *
 * aarch64 (AAPCS64: a in w0, b in w1, result in w0; instructions are 32-bit little-endian words)
 *   0: 82 00 00 18         ldr w2, #16            w2 = the word at byte 16
 *   4: 00 00 01 0b         add w0, w0, w1
 *   8: 00 00 02 0b         add w0, w0, w2
 *  12: c0 03 5f d6         ret
 *  16: 2a 00 00 00         .word 42               K: a literal next to the code, bytes 16-19
 * ```
 *
 * @module
 */

/** The architectures the lab has code for. */
export type Arch = "x86_64" | "aarch64";

/** Every architecture, in the order the checks try them. */
export const ARCHES: readonly Arch[] = ["x86_64", "aarch64"];

/** The code with K = 42, and where K sits. */
export const TEMPLATE: Readonly<Record<Arch, { bytes: readonly number[]; at: number }>> = {
  x86_64: { bytes: [0x8d, 0x04, 0x37, 0x05, 0x2a, 0x00, 0x00, 0x00, 0xc3], at: 4 },
  aarch64: {
    bytes: [
      ...[0x82, 0x00, 0x00, 0x18, 0x00, 0x00, 0x01, 0x0b, 0x00, 0x00, 0x02, 0x0b],
      ...[0xc0, 0x03, 0x5f, 0xd6, 0x2a, 0x00, 0x00, 0x00],
    ],
    at: 16,
  },
};

/** What each byte of the code is, for messages ("byte 3 is the opcode of add eax, imm32"). */
const ROLES: Readonly<Record<Arch, readonly string[]>> = {
  x86_64: [
    "the opcode of lea",
    "the ModRM byte of lea",
    "the SIB byte of lea (rdi + rsi)",
    "the opcode 05 of add eax, imm32",
    "K",
    "K",
    "K",
    "K",
    "ret",
  ],
  aarch64: [
    ...Array(4).fill("ldr w2, #16"),
    ...Array(4).fill("add w0, w0, w1"),
    ...Array(4).fill("add w0, w0, w2"),
    ...Array(4).fill("ret"),
    ...Array(4).fill("K"),
  ],
};

/** The code of `arch` with `k` as K. */
export function patched(arch: Arch, k: number): Uint8Array {
  const code = Uint8Array.from(TEMPLATE[arch].bytes);
  new DataView(code.buffer).setInt32(TEMPLATE[arch].at, k, true);
  return code;
}

/** What `add(a, b)` returns with K = `k`: 32-bit, wrapping, as the CPU adds. */
export function expectedSum(a: number, b: number, k: number): number {
  return (a + b + k) | 0;
}

/** Bytes as hex, space-separated. */
export function hexBytes(bytes: ArrayLike<number>): string {
  return Array.from(bytes, (b) => (b & 0xff).toString(16).padStart(2, "0")).join(" ");
}

/** What a wrong patch got wrong, in the student's words; `undefined` when it is right. */
export function patchMistake(arch: Arch, k: number, got: readonly number[]): string | undefined {
  const want = patched(arch, k);
  const { at, bytes: template } = TEMPLATE[arch];
  if (got.length === want.length && got.every((b, i) => b === want[i])) return undefined;
  if (got.length !== want.length) {
    return `${got.length} bytes came back, the code is ${want.length}: patch a copy of the ` +
      "whole code, add nothing and cut nothing";
  }
  if (got.every((b, i) => b === template[i])) {
    return `K was not patched: the bytes still say 42 at bytes ${at}-${at + 3}`;
  }
  const differing = got.map((b, i) => b === want[i] ? -1 : i).filter((i) => i >= 0);
  const outside = differing.filter((i) => i < at || i >= at + 4);
  if (outside.length) {
    const roles = [...new Set(outside.map((i) => `byte ${i} (${ROLES[arch][i]})`))];
    return `the wrong byte: you changed ${roles.join(", ")}, which is code, not K. K is the ` +
      `little-endian int32 at bytes ${at}-${at + 3}`;
  }
  const k4 = Array.from(want.subarray(at, at + 4));
  const mine = got.slice(at, at + 4);
  if (mine.every((b, i) => b === k4[3 - i])) {
    return "K stored big-endian (highest byte first): both CPUs are little-endian, lowest byte first " +
      "(DataView.setInt32(at, k, true))";
  }
  if (mine[0] === k4[0] && mine.slice(1).every((b, i) => b === template[at + 1 + i])) {
    return "only the lowest byte of K was written: K is a 32-bit integer, 4 bytes";
  }
  return `bytes ${at}-${at + 3} should hold K = ${k} as a little-endian int32 (${hexBytes(k4)})`;
}
