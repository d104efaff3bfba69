/**
 * Argument checks at the library's boundary: one small function per kind of
 * argument, each throwing an {@link ArgumentError} (a `TypeError`) that names
 * the call, the argument, what was given and what is allowed. They check
 * *types* (and what a C parameter can hold); whether a well-typed value makes
 * sense for the kernel (a length of 0, an unaligned offset) is decided
 * elsewhere, as an `MmapError`.
 *
 * Each check returns its value, so a call site reads `sys.munmap(ptr(addr), …)`;
 * they cost a few comparisons and allocate nothing unless they throw.
 *
 * @example
 * ```ts
 * import { oneOf, optionalBoolean } from "./validate.ts";
 * const mode = oneOf("private", ["shared", "private"] as const, "demo", "options.mode");
 * const populate = optionalBoolean(undefined, "demo", "options.populate"); // undefined
 * ```
 *
 * @module
 */

import { ArgumentError } from "./errors.ts";

function fail(callee: string, argument: string, value: unknown, allowed: string): never {
  throw new ArgumentError({ callee, argument, value, allowed });
}

const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * An options object: `undefined` (read as `{}`) or any object that is not
 * `null` or an array.
 *
 * @example
 * ```ts
 * const options = optionsObject(undefined, "mapFile"); // {}
 * ```
 */
export function optionsObject(
  value: unknown,
  callee: string,
  argument = "options",
): Readonly<Record<string, unknown>> {
  if (value === undefined) return EMPTY;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(callee, argument, value, "an object or undefined");
  }
  return value as Record<string, unknown>;
}

/**
 * `true`, `false` or `undefined`; not `"false"`, which is truthy.
 *
 * @example
 * ```ts
 * console.log(optionalBoolean(true, "mapFile", "options.populate")); // true
 * ```
 */
export function optionalBoolean(
  value: unknown,
  callee: string,
  argument: string,
): boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    fail(callee, argument, value, "true, false or undefined");
  }
  return value;
}

function listed(allowed: readonly string[]): string {
  const quoted = allowed.map((a) => JSON.stringify(a));
  return quoted.length === 1 ? quoted[0] : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
}

/**
 * One of a fixed set of strings (compared exactly: `"toString"` is not in
 * `["read"]` even though every object has it).
 *
 * @example
 * ```ts
 * const access = oneOf("read", ["read", "readwrite"] as const, "mapFile", "options.access");
 * ```
 */
export function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  callee: string,
  argument: string,
): T {
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    fail(callee, argument, value, listed(allowed));
  }
  return value as T;
}

/**
 * {@link oneOf}, or `fallback` when the value is `undefined`.
 *
 * @example
 * ```ts
 * const mode = optionalOneOf(undefined, ["sync", "async"] as const, "sync", "Mapping.sync", "options.mode");
 * ```
 */
export function optionalOneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T,
  callee: string,
  argument: string,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== "string" || !allowed.includes(value as T)) {
    fail(callee, argument, value, `${listed(allowed)} (or undefined)`);
  }
  return value as T;
}

/**
 * A value of type `number` (any number: whether it is a sensible count is
 * the caller's `MmapError` to give).
 *
 * @example
 * ```ts
 * const length = numberArg(4096, "mapAnonymous", "length");
 * ```
 */
export function numberArg(value: unknown, callee: string, argument: string): number {
  if (typeof value !== "number") fail(callee, argument, value, "a number");
  return value;
}

/**
 * A `number`, or `undefined`.
 *
 * @example
 * ```ts
 * const offset = optionalNumber(undefined, "mapFile", "options.offset") ?? 0;
 * ```
 */
export function optionalNumber(
  value: unknown,
  callee: string,
  argument: string,
): number | undefined {
  if (value !== undefined && typeof value !== "number") {
    fail(callee, argument, value, "a number or undefined");
  }
  return value;
}

/**
 * A string that C can take: a path or a name without a NUL byte (C would end
 * the string there, and open another file than the one named).
 *
 * @example
 * ```ts
 * const path = cStringArg("/tmp/data.bin", "mapFile", "path");
 * ```
 */
export function cStringArg(value: unknown, callee: string, argument: string): string {
  if (typeof value !== "string" || value.includes("\0")) {
    fail(callee, argument, value, "a string without NUL bytes");
  }
  return value;
}

/**
 * A C `int`: a whole number from -2³¹ to 2³¹ - 1.
 *
 * @example
 * ```ts
 * const fd = int32(3, "sys.close", "fd");
 * ```
 */
export function int32(value: unknown, callee: string, argument: string): number {
  // `x | 0` is x only for numbers that are already int32 (not 3.5, NaN or 2 ** 40).
  if (typeof value !== "number" || (value | 0) !== value) {
    fail(callee, argument, value, "a whole number (C int)");
  }
  return value;
}

/**
 * A C `unsigned int`: a whole number from 0 to 2³² - 1.
 *
 * @example
 * ```ts
 * const mode = uint32(0o644, "sys.open", "mode");
 * ```
 */
export function uint32(value: unknown, callee: string, argument: string): number {
  if (typeof value !== "number" || (value >>> 0) !== value) {
    fail(callee, argument, value, "a whole number from 0 to 4294967295 (C unsigned int)");
  }
  return value;
}

/**
 * A 64-bit C argument (`size_t`, `off_t`) as the BigInt Deno's fast FFI path
 * wants: a `number` that is a safe integer (negative ones pass, for the
 * kernel to answer).
 *
 * @example
 * ```ts
 * const length = int64(4096, "sys.munmap", "length"); // 4096n
 * ```
 */
export function int64(value: unknown, callee: string, argument: string): bigint {
  if (!Number.isSafeInteger(value)) {
    fail(callee, argument, value, "a whole number (a safe integer)");
  }
  return BigInt(value as number);
}

/**
 * A pointer from Deno's FFI (`Deno.PointerObject`) or `null`.
 *
 * @example
 * ```ts
 * const addr = pointerArg(null, "sys.mmap", "addr"); // null
 * ```
 */
export function pointerArg(value: unknown, callee: string, argument: string): Deno.PointerValue {
  // Deno's pointers are objects without a prototype.
  if (value !== null && (typeof value !== "object" || Object.getPrototypeOf(value) !== null)) {
    fail(callee, argument, value, "a pointer (Deno.PointerObject) or null");
  }
  return value as Deno.PointerValue;
}

/**
 * An address for C, or `undefined`: a `bigint` or a safe integer from 0 to
 * 2⁶⁴ - 1 (whether it is page-aligned, or free, is the kernel's to say).
 *
 * @example
 * ```ts
 * const at = optionalAddress(0x7f0000000000n, "mapAnonymous", "options.address");
 * ```
 */
export function optionalAddress(
  value: unknown,
  callee: string,
  argument: string,
): bigint | undefined {
  if (value === undefined) return undefined;
  const v = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof v !== "bigint" || v < 0n || v >= 1n << 64n) {
    fail(
      callee,
      argument,
      value,
      "an address: a whole number from 0 to 2^64 - 1 (a bigint, or a safe integer), or undefined",
    );
  }
  return v;
}

const NATIVE_TYPES: readonly string[] = [
  "u8",
  "i8",
  "u16",
  "i16",
  "u32",
  "i32",
  "u64",
  "i64",
  "usize",
  "isize",
  "f32",
  "f64",
  "bool",
  "pointer",
  "buffer",
  "function",
];

function nativeType(value: unknown, result: boolean): boolean {
  if (typeof value === "string") {
    return NATIVE_TYPES.includes(value) || (result && value === "void");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const struct = (value as { struct?: unknown }).struct;
  return Array.isArray(struct) && struct.length > 0 && struct.every((t) => nativeType(t, false));
}

/**
 * A C function's signature as Deno's FFI declares one:
 * `{ parameters: [...types], result: type }`, types such as `"i32"`,
 * `"f64"`, `"pointer"` (and `"void"` for the result). Calls run on this
 * thread: `nonblocking: true` is refused.
 *
 * @example
 * ```ts
 * const add = foreignFunction(
 *   { parameters: ["i32", "i32"], result: "i32" },
 *   "Mapping.asFunction",
 *   "definition",
 * );
 * ```
 */
export function foreignFunction<T extends Deno.ForeignFunction>(
  value: T,
  callee: string,
  argument: string,
): T {
  const allowed =
    '{ parameters: [...], result: ... } with FFI types ("i32", "f64", "pointer", …; ' +
    'result "void" too), not nonblocking';
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(callee, argument, value, allowed);
  }
  const { parameters, result, nonblocking } = value as Record<string, unknown>;
  if (!Array.isArray(parameters) || !parameters.every((t) => nativeType(t, false))) {
    fail(callee, `${argument}.parameters`, parameters, `an array of FFI types: ${allowed}`);
  }
  if (!nativeType(result, true)) {
    fail(callee, `${argument}.result`, result, `an FFI type or "void": ${allowed}`);
  }
  if (nonblocking !== undefined && nonblocking !== false) {
    fail(callee, `${argument}.nonblocking`, nonblocking, "false or undefined (calls run here)");
  }
  return value;
}

/**
 * A typed array or `DataView` (a buffer for C to read or fill).
 *
 * @example
 * ```ts
 * const buf = bufferArg(new Uint8Array(16), "sys.pread", "buf");
 * ```
 */
export function bufferArg<T extends ArrayBufferView>(
  value: unknown,
  callee: string,
  argument: string,
): T {
  if (!ArrayBuffer.isView(value)) fail(callee, argument, value, "a Uint8Array (or another view)");
  return value as T;
}

/**
 * Throws the {@link ArgumentError} for any other rule, e.g. a vector that is
 * too small.
 *
 * @example
 * ```ts
 * try {
 *   refuseArgument("sys.mincore", "vec", new Uint8Array(1), "a Uint8Array of at least 3 bytes");
 * } catch (err) {
 *   console.log((err as Error).message);
 * }
 * ```
 */
export function refuseArgument(
  callee: string,
  argument: string,
  value: unknown,
  allowed: string,
): never {
  fail(callee, argument, value, allowed);
}
