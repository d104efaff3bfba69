/**
 * Arguments of the wrong type: each is an ArgumentError (a TypeError naming
 * the call, the argument, what was given and what is allowed), made before
 * any libc call; values of the right type that the kernel would refuse stay
 * MmapErrors. One test per rule of lib/validate.ts, as the public API uses it.
 */

import assert from "node:assert/strict";
import {
  ArgumentError,
  MAP,
  mapAnonymous,
  mapDescriptor,
  mapFile,
  Mapping,
  mapSharedMemory,
  MmapError,
  PROT,
  recordCalls,
  resizeFile,
  sys,
} from "../../lib/mod.ts";
import { describeValue } from "../../lib/errors.ts";
import { useScratch } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();

/** `fn` must throw an ArgumentError for `argument` of `callee`, and make no libc call. */
function refused(fn: () => unknown, callee: string, argument: string): ArgumentError {
  const { value: caught, calls } = recordCalls(() => {
    try {
      fn();
    } catch (err) {
      return err;
    }
  });
  assert.ok(caught instanceof ArgumentError, `expected an ArgumentError, got ${caught}`);
  assert.ok(caught instanceof TypeError, "an ArgumentError is a TypeError");
  assert.equal(caught.callee, callee, caught.message);
  assert.equal(caught.argument, argument, caught.message);
  assert.ok(caught.message.startsWith(`${callee}: ${argument} must be `), caught.message);
  assert.deepEqual(calls, [], `${caught.message}: no libc call`);
  return caught;
}

/** Casts a value of any type to the parameter type, as untyped JavaScript would pass it. */
const as = <T>(value: unknown) => value as T;

Deno.test("option values are type-checked: 'false' is not false, 'bogus' is no mode", () => {
  using scratch = useScratch("validate-options");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  const err = refused(
    () => mapAnonymous(PAGE, { shared: as("false") }),
    "mapAnonymous",
    "options.shared",
  );
  assert.equal(err.given, '"false"');
  assert.equal(err.allowed, "true, false or undefined");
  refused(() => mapAnonymous(PAGE, { mode: as("bogus") }), "mapAnonymous", "options.mode");
  refused(() => mapAnonymous(PAGE, { populate: as("false") }), "mapAnonymous", "options.populate");
  refused(() => mapFile(path, { populate: as(1) }), "mapFile", "options.populate");
  refused(() => mapFile(path, { allowPastEnd: as("false") }), "mapFile", "options.allowPastEnd");
  refused(() => mapFile(path, { mode: as(null) }), "mapFile", "options.mode");
  refused(() => mapFile(path, { offset: as("0") }), "mapFile", "options.offset");
  refused(() => mapFile(path, { length: as(4096n) }), "mapFile", "options.length");
  using m = mapFile(path, { access: "readwrite" });
  const sync = refused(() => m.sync({ mode: as("bogus") }), "Mapping.sync", "options.mode");
  assert.equal(sync.allowed, '"sync" or "async" (or undefined)');
  refused(() => m.sync({ invalidate: as("yes") }), "Mapping.sync", "options.invalidate");
  refused(() => m.sync({ offset: as("0") }), "Mapping.sync", "options.offset");
  refused(() => m.advise("random", { length: as(null) }), "Mapping.advise", "range.length");
});

Deno.test("an options object or range must be an object: not null, a number, a string or an array", () => {
  using m = mapAnonymous(2 * PAGE);
  m.bytes[0] = 7;
  const err = refused(() => m.discard(as(5)), "Mapping.discard", "range");
  assert.equal(err.given, "5");
  assert.equal(m.bytes[0], 7, "discard(5) discarded nothing");
  refused(() => m.discard(as(null)), "Mapping.discard", "range");
  refused(() => m.advise("normal", as("all")), "Mapping.advise", "range");
  refused(() => m.sync(as(null)), "Mapping.sync", "options");
  refused(() => mapAnonymous(PAGE, as(null)), "mapAnonymous", "options");
  refused(() => mapAnonymous(PAGE, as([])), "mapAnonymous", "options");
  refused(() => mapDescriptor(0, as("shared")), "mapDescriptor", "options");
  // undefined is the default, and any object will do.
  m.discard(undefined);
  m.sync({});
  assert.equal(m.bytes[0], 0);
});

Deno.test("null (or undefined) where a value is required: our error, not 'Cannot read properties of null'", () => {
  refused(() => mapFile(as(null)), "mapFile", "path");
  refused(() => mapFile(as(undefined)), "mapFile", "path");
  refused(() => mapAnonymous(as(null)), "mapAnonymous", "length");
  refused(() => mapAnonymous(as(undefined)), "mapAnonymous", "length");
  refused(() => mapSharedMemory(as(null)), "mapSharedMemory", "length");
  refused(() => mapSharedMemory(PAGE, as(null)), "mapSharedMemory", "name");
  refused(() => mapDescriptor(as(null)), "mapDescriptor", "fd");
  refused(() => resizeFile(as(null), 0), "resizeFile", "path");
  refused(() => resizeFile("x", as(null)), "resizeFile", "size");
  using m = mapAnonymous(PAGE);
  refused(() => m.protect(as(null)), "Mapping.protect", "access");
  refused(() => m.advise(as(undefined)), "Mapping.advise", "advice");
});

Deno.test("a NUL byte in a path or name is refused, and no file is made", () => {
  using scratch = useScratch("validate-nul");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  const err = refused(() => mapFile(`${path}\0.txt`), "mapFile", "path");
  assert.equal(err.allowed, "a string without NUL bytes");
  assert.match(err.given, /\\u0000/);
  refused(() => resizeFile(`${scratch.dir}/new\0.bin`, PAGE), "resizeFile", "path");
  refused(() => mapSharedMemory(PAGE, "a\0b"), "mapSharedMemory", "name");
  refused(() => sys.open(`${scratch.dir}/new\0.bin`, 0o100 | 2), "sys.open", "path");
  refused(() => sys.mkfifo(`${scratch.dir}/fifo\0`), "sys.mkfifo", "path");
  assert.deepEqual([...Deno.readDirSync(scratch.dir)].map((e) => e.name), ["data.bin"]);
});

Deno.test("numbers of the wrong type are ArgumentErrors; numbers the kernel would refuse stay MmapErrors", () => {
  refused(() => mapAnonymous(as("4096")), "mapAnonymous", "length");
  refused(() => mapAnonymous(as(4096n)), "mapAnonymous", "length");
  refused(() => mapDescriptor(as("3")), "mapDescriptor", "fd");
  refused(() => mapDescriptor(3.5), "mapDescriptor", "fd");
  refused(() => resizeFile("x", as("100")), "resizeFile", "size");
  for (const length of [0, -1, 1.5, NaN, Infinity]) {
    assert.throws(() => mapAnonymous(length), (err: unknown) => {
      assert.ok(err instanceof MmapError, `${length}: ${err}`);
      assert.equal(err.code, "EINVAL");
      assert.equal(err.fromKernel, false);
      return true;
    });
  }
  // A descriptor that is not open is the kernel's answer.
  assert.throws(() => mapDescriptor(-1), (err: unknown) => err instanceof MmapError);
});

Deno.test("sys: a value its C parameter cannot hold is an ArgumentError, never a BigInt SyntaxError", () => {
  const anon = MAP.PRIVATE | MAP.ANONYMOUS;
  refused(() => sys.mmap(null, as("x"), PROT.READ, anon, -1, 0), "sys.mmap", "length");
  refused(() => sys.mmap(null, as("4096"), PROT.READ, anon, -1, 0), "sys.mmap", "length");
  refused(() => sys.mmap(null, PAGE, as("1"), anon, -1, 0), "sys.mmap", "prot");
  refused(() => sys.mmap(as(4096), PAGE, PROT.READ, anon, -1, 0), "sys.mmap", "addr");
  refused(() => sys.mmap(null, PAGE, PROT.READ, anon, 2 ** 40, 0), "sys.mmap", "fd");
  refused(() => sys.mmap(null, PAGE, PROT.READ, anon, -1, 0.5), "sys.mmap", "offset");
  refused(() => sys.munmap(null, 1.5), "sys.munmap", "length");
  refused(() => sys.munmap(null, 2 ** 60), "sys.munmap", "length");
  refused(() => sys.close(as("3")), "sys.close", "fd");
  refused(() => sys.close(as(null)), "sys.close", "fd");
  refused(() => sys.pread(0, as(null), 0), "sys.pread", "buf");
  refused(() => sys.ftruncate(-1, as(undefined)), "sys.ftruncate", "length");
  refused(() => sys.open("/", 0, as("0644")), "sys.open", "mode");
  refused(() => sys.fileSize(-1, as("no")), "sys.fileSize", "keepPosition");
  refused(() => sys.pointerAt(as("4096")), "sys.pointerAt", "address");
  refused(() => sys.pointerAt(-1n), "sys.pointerAt", "address");
  refused(() => sys.hex(as(5)), "sys.hex", "ptr");
  const view = new Int32Array(1).fill(7);
  refused(() => sys.futexWait(view, as("0"), 8), "sys.futexWait", "index");
  refused(() => sys.futexWait(view, 0, as("7")), "sys.futexWait", "expected");
  refused(() => sys.futexWake(as([7]), 0), "sys.futexWake", "view");
  assert.throws(
    () => sys.futexWake(view, 1),
    RangeError,
    "an index out of range stays a RangeError",
  );
  // A negative length has the C type: the kernel answers it.
  assert.throws(() => sys.munmap(null, -1), (err: unknown) => err instanceof MmapError);
  assert.equal(sys.addressOf(sys.pointerAt(4096)), 4096n);
});

Deno.test("sys.mincore: a vector too small for the range is refused (the kernel would write past it)", () => {
  const ptr = sys.mmap(null, 3 * PAGE, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  try {
    const err = refused(() => sys.mincore(ptr, 3 * PAGE, new Uint8Array(2)), "sys.mincore", "vec");
    assert.match(err.allowed, /at least 3 bytes/);
    refused(() => sys.mincore(ptr, -1, new Uint8Array(3)), "sys.mincore", "vec");
    sys.mincore(ptr, 3 * PAGE, new Uint8Array(3));
  } finally {
    sys.munmap(ptr, 3 * PAGE);
  }
});

Deno.test("new Mapping checks what it wraps: a pointer, a length, an access, a source", () => {
  const source = { mode: "private" as const, offset: 0 };
  refused(() => new Mapping(as(null), PAGE, "read", source), "new Mapping", "pointer");
  const ptr = sys.pointerAt(4096)!;
  refused(() => new Mapping(ptr, 0, "read", source), "new Mapping", "length");
  refused(() => new Mapping(ptr, PAGE, as("rw"), source), "new Mapping", "access");
  refused(() => new Mapping(ptr, PAGE, "read", as(null)), "new Mapping", "source");
  refused(() => new Mapping(ptr, PAGE, "read", as({ mode: "x" })), "new Mapping", "source.mode");
});

Deno.test("describeValue: every kind of value, and never a throw", () => {
  assert.equal(describeValue("bogus"), '"bogus"');
  assert.equal(describeValue("x".repeat(200)), `"${"x".repeat(159)}…"`);
  assert.equal(describeValue(5n), "5n");
  assert.equal(describeValue(NaN), "NaN");
  assert.equal(describeValue(null), "null");
  assert.equal(describeValue(undefined), "undefined");
  assert.equal(describeValue(Symbol("s")), "a symbol");
  assert.equal(describeValue(() => 1), "a function");
  assert.equal(describeValue([]), "an array");
  assert.equal(describeValue({}), "an object");
  assert.equal(describeValue(new Uint8Array(1)), "a Uint8Array");
  assert.equal(describeValue(sys.pointerAt(4096n)), "a pointer");
  const hostile = new Proxy({}, {
    getPrototypeOf() {
      throw new Error("no");
    },
  });
  assert.equal(describeValue(hostile), "an object");
});
