/**
 * Questions checks ask of the call record (`result.calls`): the calls of one
 * libc function, the ones that succeeded, and whether a call carried a flag,
 * named as in C (`"MAP_SHARED"`, `"PROT_WRITE"`, `"MS_SYNC"`).
 *
 * @module
 */

import { MAP, MS, O, PROT } from "../ffi/constants.ts";
import type { CallRecord } from "../trace.ts";

/**
 * Every recorded call of the libc functions `names`, failed ones too, in the
 * order made.
 *
 * @example
 * ```ts
 * const calls = [{ call: "mmap", args: {}, result: -1, error: "EINVAL" }];
 * console.log(callsTo(calls, "mmap").length); // 1
 * ```
 */
export function callsTo(calls: readonly CallRecord[], ...names: string[]): CallRecord[] {
  return calls.filter((c) => names.includes(c.call));
}

/**
 * The recorded calls of the libc functions `names` that succeeded (no errno),
 * in the order made.
 *
 * @example
 * ```ts
 * const calls = [
 *   { call: "mmap", args: {}, result: -1, error: "EINVAL" },
 *   { call: "mmap", args: {}, result: "0x7f0000000000" },
 * ];
 * console.log(succeeded(calls, "mmap").length); // 1
 * ```
 */
export function succeeded(calls: readonly CallRecord[], ...names: string[]): CallRecord[] {
  return calls.filter((c) => names.includes(c.call) && !c.error);
}

/** A flag by its C name: `MAP_…` and `O_…` in `flags` (`MS_…` for msync), `PROT_…` in `prot`. */
export type FlagName =
  | `MAP_${keyof typeof MAP}`
  | `PROT_${Exclude<keyof typeof PROT, "NONE">}`
  | `MS_${keyof typeof MS}`
  | `O_${Exclude<keyof typeof O, "RDONLY">}`;

const FLAGS: Record<FlagName, { arg: "flags" | "prot"; bits: number }> = Object.fromEntries([
  ...Object.entries(MAP).map(([k, bits]) => [`MAP_${k}`, { arg: "flags", bits }]),
  ...Object.entries(PROT).map(([k, bits]) => [`PROT_${k}`, { arg: "prot", bits }]),
  ...Object.entries(MS).map(([k, bits]) => [`MS_${k}`, { arg: "flags", bits }]),
  ...Object.entries(O).map(([k, bits]) => [`O_${k}`, { arg: "flags", bits }]),
]) as Record<FlagName, { arg: "flags" | "prot"; bits: number }>;

/**
 * Whether a recorded call carried `flag`: its bits are set in the argument
 * the flag belongs to (`flags` or `prot`). `false` when the call has no such
 * numeric argument.
 *
 * @example
 * ```ts
 * const call = { call: "mmap", args: { prot: 3, flags: 0x8001 }, result: "0x7f0000000000" };
 * console.log(hasFlag(call, "MAP_SHARED"), hasFlag(call, "MAP_PRIVATE")); // true false
 * console.log(hasFlag(call, "PROT_WRITE"), hasFlag(call, "MAP_POPULATE")); // true true
 * ```
 */
export function hasFlag(call: CallRecord, flag: FlagName): boolean {
  const { arg, bits } = FLAGS[flag];
  const value = call.args[arg];
  return typeof value === "number" && (value & bits) === bits;
}
