/**
 * # Lab 11: Executable memory and where a mapping lands
 *
 * Every JIT compiler (the one running this TypeScript included), every
 * dynamic loader and every W^X security policy lives here: memory the CPU
 * may run as code. You will make a function at run time the way a JIT does:
 *
 * 1. map anonymous memory read-write (`PROT_READ | PROT_WRITE`);
 * 2. copy machine code into it (bytes the lab gives you for x86-64 and
 *    aarch64, with a constant K you patch first);
 * 3. `mprotect` it to read + execute (`PROT_READ | PROT_EXEC`): never
 *    writable and executable at once, **W^X**;
 * 4. call it; 5. unmap it.
 *
 * Then the `addr` argument of `mmap`: a hint the kernel may ignore, or
 * exactly there with `MAP_FIXED_NOREPLACE` (which fails with `EEXIST` where
 * something is mapped), and why plain `MAP_FIXED` is dangerous.
 *
 * Read: README.md (the machine code, byte by byte), `man 2 mmap` (`addr`,
 * MAP_FIXED, MAP_FIXED_NOREPLACE), `man 2 mprotect`, and
 * `Mapping.asFunction` in `lib/mapping.ts`.
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

// ---------------------------------------------------------------- part 1: patch

/**
 * A copy of `ADD_CODE[arch]` whose K is `k` (any 32-bit integer, negative
 * too). Both CPUs store K as 4 bytes, lowest byte first (little-endian);
 * where they keep it differs: find it in the listings.
 */
export function patchConstant(arch: Arch, k: number): Uint8Array {
  const code = Uint8Array.from(ADD_CODE[arch]);
  // TODO: write k into the copy, at the byte where this CPU's code keeps K:
  // new DataView(code.buffer).setInt32(at, k, true) (true: little-endian).
  void k;
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

/**
 * Copies `code` (a function of `ADD_SIGNATURE`) into fresh memory and makes
 * it callable. The checker looks at `/proc/PID/maps` right before it calls
 * your function: the page must be `r-x`, and must never have been writable
 * and executable at once.
 */
export function compile(code: Uint8Array): JitFunction {
  // 1. mmap read-write: mapAnonymous(length) is PROT_READ | PROT_WRITE.
  const memory = mapAnonymous(code.length);
  // 2. the store: memory.bytes.set(code).
  // TODO: store the code.
  // 3. TODO: mprotect to read + execute: memory.protect("readexec").
  // 4. TODO: const add = memory.asFunction(ADD_SIGNATURE); call(a, b) returns add(a, b).
  // 5. TODO: free() unmaps: memory.unmap().
  return {
    address: memory.address,
    call: (a, b) => a + b, // TODO: run the code instead
    free: () => {},
  };
}

// ---------------------------------------------------------------- part 3: where a mapping lands

/**
 * Maps `length` bytes of anonymous memory, asking for `address` as a
 * **hint** (`mmap(addr, …)` without MAP_FIXED): the kernel may put it
 * elsewhere, and must never replace what is there.
 */
export function mapWithHint(address: bigint, length: number): Mapping {
  // TODO: pass the address: mapAnonymous(length, { address }).
  void address;
  return mapAnonymous(length);
}

/**
 * Maps `length` bytes **exactly** at `address`, or throws the kernel's
 * `MmapError` `EEXIST` when anything is mapped there
 * (`MAP_FIXED_NOREPLACE`). Let that error through.
 */
export function mapExactly(address: bigint, length: number): Mapping {
  // TODO: mapAnonymous(length, { address, exact: true }).
  void address;
  return mapAnonymous(length);
}

// ---------------------------------------------------------------- part 4: meet the faults
//
// Each of these ends the process (the checker runs each in a child of its
// own). Predict how, in PREDICTED_SIGNALS, before you run the checks.

/**
 * Stores `code` in read-write memory and calls it **without** mprotect.
 * `memory.asFunction` refuses that (it throws `NotExecutableError`): call
 * through the raw layer, `sys.functionAt(memory.address, ADD_SIGNATURE)`,
 * which jumps wherever you tell it.
 */
export function callWithoutExec(code: Uint8Array): number {
  // TODO: map, store the code, then return sys.functionAt(memory.address, ADD_SIGNATURE)(1, 2).
  void [code, sys];
  return 0;
}

/** Maps `code`, makes it read + execute, then stores one byte into it. */
export function writeAfterSeal(code: Uint8Array): void {
  // TODO: map, store the code, protect("readexec"), then memory.bytes[0] = 0xc3.
  void code;
}

/** Predict the signal that ends each function of part 4: `"SIGSEGV"`, `"SIGBUS"` or `"SIGILL"`. */
export const PREDICTED_SIGNALS: {
  callWithoutExec: string | undefined;
  writeAfterSeal: string | undefined;
} = {
  callWithoutExec: undefined, // TODO: predict
  writeAfterSeal: undefined, // TODO: predict
};

/**
 * The checker holds a mapping of its own, every byte 0x42, and calls
 * `mmap(thatAddress, pageSize, PROT_READ | PROT_WRITE,
 * MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)` over it. Predict:
 * `"EEXIST"` (the call fails, the data stays), `"elsewhere"` (the new
 * mapping goes somewhere else, the data stays) or `"replaced"` (the new
 * mapping takes the range, and the data is gone).
 */
export const PREDICTED_MAP_FIXED: string | undefined = undefined; // TODO: predict
