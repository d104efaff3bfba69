/**
 * # Lab 11: Executable memory and where a mapping lands (reference solution)
 *
 * A JIT in a few lines: map memory read-write, store machine code in it,
 * make it read + execute (never writable and executable at once: W^X),
 * call it, unmap it. Then the `addr` argument of mmap: a hint, or exactly
 * there with MAP_FIXED_NOREPLACE, which fails with EEXIST where plain
 * MAP_FIXED would silently replace what was there.
 *
 * @module
 */

import { mapAnonymous, type Mapping, sys } from "../../lib/mod.ts";

// ---------------------------------------------------------------- the machine code

/** The CPUs this lab has machine code for. */
export type Arch = "x86_64" | "aarch64";

/** The CPU this program runs on. */
export const ARCH: Arch = Deno.build.arch as Arch;

/**
 * `add(a, b)`: returns `a + b + K` as a 32-bit integer, with K = 42 here.
 * The listings are in README.md; do not change these bytes, patch copies.
 */
export const ADD_CODE: Readonly<Record<Arch, readonly number[]>> = {
  x86_64: [
    0x8d,
    0x04,
    0x37, //             lea eax, [rdi + rsi]   eax = a + b
    0x05,
    0x2a,
    0x00,
    0x00,
    0x00, // add eax, 42            eax += K (an imm32)
    0xc3, //                         ret                    return eax
  ],
  aarch64: [
    0x82,
    0x00,
    0x00,
    0x18, //       ldr w2, #16            w2 = the word at byte 16 (K)
    0x00,
    0x00,
    0x01,
    0x0b, //       add w0, w0, w1         w0 = a + b
    0x00,
    0x00,
    0x02,
    0x0b, //       add w0, w0, w2         w0 += K
    0xc0,
    0x03,
    0x5f,
    0xd6, //       ret                    return w0
    0x2a,
    0x00,
    0x00,
    0x00, //       .word 42               K, right after the code
  ],
};

/** The C signature of `ADD_CODE`: `int32_t add(int32_t a, int32_t b)`. */
export const ADD_SIGNATURE = { parameters: ["i32", "i32"], result: "i32" } as const;

/** Where K starts in each architecture's code. */
const K_AT: Record<Arch, number> = {
  x86_64: 4, // the imm32 of `add eax, imm32` (byte 3 is its opcode, 05)
  aarch64: 16, // the literal word after `ret` that `ldr w2, #16` loads
};

// ---------------------------------------------------------------- part 1: patch

/** A copy of `ADD_CODE[arch]` whose K is `k` (any 32-bit integer, negative too). */
export function patchConstant(arch: Arch, k: number): Uint8Array {
  const code = Uint8Array.from(ADD_CODE[arch]);
  // A 32-bit integer, stored little-endian: lowest byte first, on both CPUs.
  new DataView(code.buffer).setInt32(K_AT[arch], k, true);
  return code;
}

// ---------------------------------------------------------------- part 2: a JIT

/** Machine code made callable. */
export interface JitFunction {
  /** Where the code is (the mapping's first byte). */
  readonly address: bigint;
  /** Runs the code: `add(a, b)`. */
  call(a: number, b: number): number;
  /** Unmaps the code. */
  free(): void;
}

/** Copies `code` (a function of `ADD_SIGNATURE`) into fresh memory and makes it callable. */
export function compile(code: Uint8Array): JitFunction {
  // 1. mmap read-write, not executable: PROT_READ | PROT_WRITE.
  const memory: Mapping = mapAnonymous(code.length);
  // 2. The store: the code goes in while the page is writable.
  memory.bytes.set(code);
  // 3. mprotect to read + execute. From now on a store faults: never W and X at once.
  memory.protect("readexec");
  // 4. A function pointer to the first byte (asFunction refuses a page without PROT_EXEC).
  const add = memory.asFunction(ADD_SIGNATURE);
  return {
    address: memory.address,
    call: (a, b) => add(a, b),
    free: () => memory.unmap(), // 5. munmap
  };
}

// ---------------------------------------------------------------- part 3: where a mapping lands

/** Maps `length` bytes of anonymous memory, asking for `address` as a hint. */
export function mapWithHint(address: bigint, length: number): Mapping {
  // mmap(addr, …) without MAP_FIXED: the kernel takes addr if the range is free, else another.
  return mapAnonymous(length, { address });
}

/** Maps `length` bytes exactly at `address`, or throws MmapError EEXIST if anything is there. */
export function mapExactly(address: bigint, length: number): Mapping {
  // MAP_FIXED_NOREPLACE: exactly there, and never over an existing mapping.
  return mapAnonymous(length, { address, exact: true });
}

// ---------------------------------------------------------------- part 4: meet the faults

/** Stores `code` in read-write memory and calls it without mprotect: the CPU refuses. */
export function callWithoutExec(code: Uint8Array): number {
  const memory = mapAnonymous(code.length);
  memory.bytes.set(code);
  // memory.asFunction would throw NotExecutableError here; the raw layer jumps anyway.
  const add = sys.functionAt(memory.address, ADD_SIGNATURE);
  return add(1, 2); // an instruction fetch from a page without PROT_EXEC
}

/** Makes `code` read + execute, then stores one byte into it. */
export function writeAfterSeal(code: Uint8Array): void {
  const memory = mapAnonymous(code.length);
  memory.bytes.set(code);
  memory.protect("readexec");
  memory.bytes[0] = 0xc3; // a store into a page without PROT_WRITE
}

/** The signal that ends each function above. */
export const PREDICTED_SIGNALS: {
  callWithoutExec: string | undefined;
  writeAfterSeal: string | undefined;
} = {
  callWithoutExec: "SIGSEGV", // the page is mapped, but not for running code
  writeAfterSeal: "SIGSEGV", // the page is mapped, but not for writing
};

/**
 * What `mmap(addr, …, MAP_FIXED, …)` does where the checker holds a mapping
 * full of its data: "EEXIST", "elsewhere" or "replaced".
 */
export const PREDICTED_MAP_FIXED: string | undefined = "replaced";
