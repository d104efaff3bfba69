/**
 * Every errno path: the ones mmap-lab refuses before calling the kernel
 * (`fromKernel: false`) and the ones the kernel itself returns.
 */

import assert from "node:assert/strict";
import {
  ArgumentError,
  MAP,
  mapAnonymous,
  mapFile,
  Mapping,
  MappingClosedError,
  MmapError,
  MS,
  O,
  PROT,
  recordCalls,
  sys,
  UnsupportedPlatformError,
} from "../../lib/mod.ts";
import { assertSupported } from "../../lib/ffi/constants.ts";
import { runChild, useScratch } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();

interface Expected {
  code: string;
  errno: number;
  syscall: string;
  fromKernel: boolean;
  hint?: RegExp;
}

/** Runs `fn`, which must throw an MmapError with these fields and a non-empty hint. */
function expectMmapError(fn: () => unknown, expected: Expected): MmapError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected an MmapError ${expected.code}, nothing was thrown`);
  assert.ok(caught instanceof MmapError, `expected an MmapError, got ${caught}`);
  assert.equal(caught.name, "MmapError");
  assert.equal(caught.code, expected.code);
  assert.equal(caught.errno, expected.errno);
  assert.equal(caught.syscall, expected.syscall);
  assert.equal(caught.fromKernel, expected.fromKernel);
  assert.equal(typeof caught.hint, "string");
  assert.ok(caught.hint.trim().length > 0, "hint must not be empty");
  if (expected.hint) assert.match(caught.hint, expected.hint);
  assert.ok(caught.message.includes(expected.code), caught.message);
  assert.ok(caught.message.includes(caught.hint), "the message carries the hint");
  return caught;
}

/** Runs `fn`, which must throw an ArgumentError (a TypeError) with these fields, before any libc call. */
function expectArgumentError(
  fn: () => unknown,
  expected: { callee: string; argument: string; given: string },
): ArgumentError {
  const { value: caught, calls } = recordCalls(() => {
    try {
      fn();
    } catch (err) {
      return err;
    }
    return undefined;
  });
  assert.ok(caught instanceof ArgumentError, `expected an ArgumentError, got ${caught}`);
  assert.ok(caught instanceof TypeError);
  assert.equal(caught.name, "ArgumentError");
  assert.equal(caught.callee, expected.callee);
  assert.equal(caught.argument, expected.argument);
  assert.equal(caught.given, expected.given);
  assert.ok(caught.allowed.length > 0);
  assert.equal(
    caught.message,
    `${expected.callee}: ${expected.argument} must be ${caught.allowed} (got ${expected.given})`,
  );
  assert.deepEqual(calls, [], "refused before any libc call");
  return caught;
}

Deno.test("mapFile of a missing file: ENOENT from open, with the path in the message", () => {
  using scratch = useScratch("enoent");
  const missing = scratch.file("no-such-file.bin");
  const err = expectMmapError(() => mapFile(missing), {
    code: "ENOENT",
    errno: 2,
    syscall: "open",
    fromKernel: true,
    hint: /no such file/,
  });
  assert.ok(err.message.includes(missing), err.message);
});

Deno.test("mapFile of a FIFO, directory or device: ENODEV, refused before opening it (the fuzz test adds a socket)", () => {
  using scratch = useScratch("special");
  const fifo = scratch.file("fifo");
  sys.mkfifo(fifo);
  const special: [string, string][] = [
    [fifo, "FIFO"],
    [scratch.dir, "directory"],
    ["/dev/null", "character device"],
  ];
  for (const [path, type] of special) {
    for (
      const options of [{}, { access: "readwrite" as const }, { length: PAGE, allowPastEnd: true }]
    ) {
      const { calls } = recordCalls(() => {
        const err = expectMmapError(() => mapFile(path, options), {
          code: "ENODEV",
          errno: 19,
          syscall: "mmap",
          fromKernel: false,
          hint: /not a regular file/,
        });
        assert.ok(err.hint.includes(`${path} is a ${type}`), err.hint);
      });
      assert.deepEqual(calls, [], `${type}: nothing opened`);
    }
  }
});

Deno.test("mapFile of an empty file: EINVAL refused before calling mmap", () => {
  using scratch = useScratch("empty");
  const path = scratch.file("empty.bin");
  Deno.writeFileSync(path, new Uint8Array(0));
  const err = expectMmapError(() => mapFile(path), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
    hint: /empty/,
  });
  assert.match(err.message, /refused before calling/);
});

Deno.test("mapFile with length 0, and mapAnonymous(0): EINVAL refused before calling", () => {
  using scratch = useScratch("zero-length");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  expectMmapError(() => mapFile(path, { length: 0 }), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
    hint: /length/,
  });
  expectMmapError(() => mapAnonymous(0), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
    hint: /length 0/,
  });
});

Deno.test("mapFile with an unaligned offset: EINVAL, and the hint names the page size", () => {
  using scratch = useScratch("unaligned-offset");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(4 * PAGE));
  const err = expectMmapError(() => mapFile(path, { offset: 100, length: PAGE }), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
  });
  assert.ok(err.hint.includes(String(PAGE)), `hint should mention ${PAGE}: ${err.hint}`);
  // The same offset passed straight to the kernel is refused by the kernel.
  const fd = sys.open(path, O.RDONLY);
  try {
    expectMmapError(() => sys.mmap(null, PAGE, PROT.READ, MAP.SHARED, fd, 100), {
      code: "EINVAL",
      errno: 22,
      syscall: "mmap",
      fromKernel: true,
    });
  } finally {
    sys.close(fd);
  }
});

Deno.test("mapFile past end of file is refused unless allowPastEnd", () => {
  using scratch = useScratch("past-eof");
  const path = scratch.file("one-page.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE).fill(7));
  expectMmapError(() => mapFile(path, { length: 2 * PAGE }), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
    hint: /past the end|SIGBUS/,
  });
  // Offset at the end of the file without a length: nothing to map.
  expectMmapError(() => mapFile(path, { offset: PAGE }), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
  });
  using m = mapFile(path, { length: 2 * PAGE, allowPastEnd: true });
  assert.equal(m.length, 2 * PAGE);
  assert.equal(m.pageCount, 2);
  assert.equal(m.bytes[PAGE - 1], 7); // the page inside the file is readable
});

Deno.test("a mapping that ends inside the file's last partial page is allowed", () => {
  using scratch = useScratch("partial-page");
  const path = scratch.file("short.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE + 100).fill(1));
  using m = mapFile(path, { length: 2 * PAGE });
  assert.equal(m.bytes[PAGE + 99], 1);
  assert.equal(m.bytes[PAGE + 100], 0, "bytes past EOF in the last page read as zero");
  assert.equal(m.bytes[2 * PAGE - 1], 0);
});

Deno.test("sys.mmap of length 0: the kernel's EINVAL (fromKernel true)", () => {
  expectMmapError(
    () => sys.mmap(null, 0, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0),
    { code: "EINVAL", errno: 22, syscall: "mmap", fromKernel: true, hint: /length/ },
  );
});

Deno.test("sys.mmap PROT_WRITE + MAP_SHARED on an O_RDONLY descriptor: EACCES", () => {
  using scratch = useScratch("eacces");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  try {
    expectMmapError(
      () => sys.mmap(null, PAGE, PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0),
      { code: "EACCES", errno: 13, syscall: "mmap", fromKernel: true, hint: /O_RDWR/ },
    );
    // MAP_PRIVATE needs only a readable descriptor: the same call succeeds.
    const ptr = sys.mmap(null, PAGE, PROT.READ | PROT.WRITE, MAP.PRIVATE, fd, 0);
    sys.munmap(ptr, PAGE);
  } finally {
    sys.close(fd);
  }
});

Deno.test("sys.mmap of a closed descriptor: EBADF", () => {
  using scratch = useScratch("ebadf");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  sys.close(fd);
  expectMmapError(() => sys.mmap(null, PAGE, PROT.READ, MAP.SHARED, fd, 0), {
    code: "EBADF",
    errno: 9,
    syscall: "mmap",
    fromKernel: true,
    hint: /not open/,
  });
});

Deno.test("sys.msync of an unaligned address: EINVAL", () => {
  using m = mapAnonymous(2 * PAGE);
  const ptr = sys.pointerAt(m.address + 1n);
  expectMmapError(() => sys.msync(ptr, 10, MS.SYNC), {
    code: "EINVAL",
    errno: 22,
    syscall: "msync",
    fromKernel: true,
    hint: /page-aligned/,
  });
  // The aligned call on the same mapping is fine.
  sys.msync(sys.pointerAt(m.address), PAGE, MS.SYNC);
});

// The two tests above and below reuse a descriptor number right after closing
// it. That is safe because `deno test` runs one test at a time here; with
// `--parallel` another test's thread could be handed the same number between
// the two calls (measured once: the second close() closed another test's file).
Deno.test("sys.close of a closed descriptor: EBADF", () => {
  using scratch = useScratch("close-twice");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(1));
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  sys.close(fd);
  expectMmapError(() => sys.close(fd), {
    code: "EBADF",
    errno: 9,
    syscall: "close",
    fromKernel: true,
    hint: /closed twice/,
  });
});

Deno.test("protect('readwrite') of a shared mapping of a read-only file: EACCES, access unchanged", () => {
  using scratch = useScratch("mprotect-eacces");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE).fill(3));
  const fd = sys.open(path, O.RDONLY | O.CLOEXEC);
  let ptr: Deno.PointerObject;
  try {
    ptr = sys.mmap(null, PAGE, PROT.READ, MAP.SHARED, fd, 0);
  } finally {
    sys.close(fd);
  }
  using m = new Mapping(ptr, PAGE, "read", { path, mode: "shared", offset: 0 });
  expectMmapError(() => m.protect("readwrite"), {
    code: "EACCES",
    errno: 13,
    syscall: "mprotect",
    fromKernel: true,
    hint: /read-only/,
  });
  assert.equal(m.access, "read", "a failed protect() must not change access");
  assert.equal(m.bytes[0], 3, "the mapping still works");
  // The raw layer gives the same answer.
  expectMmapError(() => sys.mprotect(ptr, PAGE, PROT.READ | PROT.WRITE), {
    code: "EACCES",
    errno: 13,
    syscall: "mprotect",
    fromKernel: true,
  });
  // Dropping to "none" and back to "read" is allowed.
  m.protect("none");
  assert.equal(m.access, "none");
  m.protect("read");
  assert.equal(m.bytes[0], 3);
});

Deno.test("a range past the mapping's end is refused (ENOMEM, before the kernel)", () => {
  using m = mapAnonymous(2 * PAGE);
  expectMmapError(() => m.sync({ offset: 0, length: 2 * PAGE + 1 }), {
    code: "ENOMEM",
    errno: 12,
    syscall: "msync",
    fromKernel: false,
    hint: /past the mapping's end/,
  });
  expectMmapError(() => m.discard({ offset: PAGE, length: 2 * PAGE }), {
    code: "ENOMEM",
    errno: 12,
    syscall: "madvise",
    fromKernel: false,
  });
  expectMmapError(() => m.advise("random", { offset: -1, length: 1 }), {
    code: "EINVAL",
    errno: 22,
    syscall: "madvise",
    fromKernel: false,
  });
});

Deno.test("bad mode, access, protection or advice strings are ArgumentErrors (TypeError)", () => {
  using scratch = useScratch("bad-options");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE));
  expectArgumentError(() => mapFile(path, { mode: "public" as "shared" }), {
    callee: "mapFile",
    argument: "options.mode",
    given: '"public"',
  });
  expectArgumentError(() => mapFile(path, { access: "write" as "read" }), {
    callee: "mapFile",
    argument: "options.access",
    given: '"write"',
  });
  using m = mapAnonymous(PAGE);
  expectArgumentError(() => m.protect("exec" as "read"), {
    callee: "Mapping.protect",
    argument: "access",
    given: '"exec"',
  });
  expectArgumentError(() => m.advise("fast" as "normal"), {
    callee: "Mapping.advise",
    argument: "advice",
    given: '"fast"',
  });
});

Deno.test("prototype names as protection/advice/access are ArgumentErrors too", () => {
  using m = mapAnonymous(PAGE);
  expectArgumentError(() => m.protect("toString" as "read"), {
    callee: "Mapping.protect",
    argument: "access",
    given: '"toString"',
  });
  expectArgumentError(() => m.advise("constructor" as "normal"), {
    callee: "Mapping.advise",
    argument: "advice",
    given: '"constructor"',
  });
  expectArgumentError(() => mapAnonymous(PAGE, { access: "valueOf" as "read" }), {
    callee: "mapAnonymous",
    argument: "options.access",
    given: '"valueOf"',
  });
});

Deno.test("MmapError: fields, default hint per syscall and errno, message", () => {
  const err = new MmapError({ syscall: "mmap", errno: 22 });
  assert.ok(err instanceof Error);
  assert.equal(err.code, "EINVAL");
  assert.equal(err.fromKernel, true);
  assert.match(err.hint, /page size/);
  assert.ok(err.message.startsWith("mmap failed: EINVAL"), err.message);

  const refused = new MmapError({ syscall: "msync", errno: 12, fromKernel: false, hint: "why" });
  assert.equal(refused.hint, "why");
  assert.equal(refused.message, "msync failed: ENOMEM (refused before calling): why");

  const unknown = new MmapError({ syscall: "mlock", errno: 200 });
  assert.equal(unknown.code, "E200");
  assert.match(unknown.hint, /man 2 mlock/);
  assert.match(new MmapError({ syscall: "fsync", errno: 9 }).hint, /not open/);
});

Deno.test("MappingClosedError: name, operation and message", () => {
  const err = new MappingClosedError("sync");
  assert.ok(err instanceof Error);
  assert.equal(err.name, "MappingClosedError");
  assert.equal(err.operation, "sync");
  assert.ok(err.message.startsWith("sync() on an unmapped Mapping"), err.message);
});

Deno.test("UnsupportedPlatformError: name, os, arch and a message that says what to do", () => {
  const err = new UnsupportedPlatformError("darwin", "aarch64");
  assert.ok(err instanceof Error);
  assert.equal(err.name, "UnsupportedPlatformError");
  assert.equal(err.os, "darwin");
  assert.equal(err.arch, "aarch64");
  assert.match(err.message, /darwin\/aarch64/);
  assert.match(err.message, /Linux x86-64 and aarch64/);
});

Deno.test("assertSupported: passes here, throws UnsupportedPlatformError for another OS or CPU", () => {
  assert.equal(assertSupported(), Deno.build.arch);
  const real = Object.getOwnPropertyDescriptor(Deno, "build")!;
  const fake = (os: string, arch: string) =>
    Object.defineProperty(Deno, "build", { ...real, value: { ...Deno.build, os, arch } });
  try {
    for (const [os, arch] of [["darwin", "aarch64"], ["windows", "x86_64"], ["linux", "riscv64"]]) {
      fake(os, arch);
      assert.throws(() => assertSupported(), (err: unknown) => {
        assert.ok(err instanceof UnsupportedPlatformError);
        assert.equal(err.os, os);
        assert.equal(err.arch, arch);
        return true;
      });
    }
    fake("linux", "aarch64");
    assert.equal(assertSupported(), "aarch64");
  } finally {
    Object.defineProperty(Deno, "build", real);
  }
  assert.equal(Deno.build.os, "linux");
});

Deno.test("importing lib is safe off Linux; the first native call throws UnsupportedPlatformError", async () => {
  using scratch = useScratch("unsupported");
  const result = await runChild({
    dir: scratch.dir,
    script: `
      const real = Object.getOwnPropertyDescriptor(Deno, "build")!;
      Object.defineProperty(Deno, "build", { ...real, value: { ...Deno.build, os: "darwin" } });
      const lib = await import("__LIB__");
      console.log("imported");
      try {
        lib.mapAnonymous(4096);
        console.log("mapped");
      } catch (err) {
        const e = err as { name: string; os: string; arch: string };
        console.log(e.name, e.os, e.arch, err instanceof lib.UnsupportedPlatformError);
      }
    `,
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.stdout.trim().split("\n"), [
    "imported",
    `UnsupportedPlatformError darwin ${Deno.build.arch} true`,
  ]);
});

Deno.test("mapAnonymous refuses an unknown mode, and a mode the deprecated shared flag contradicts", () => {
  expectArgumentError(() => mapAnonymous(PAGE, { mode: "public" as "shared" }), {
    callee: "mapAnonymous",
    argument: "options.mode",
    given: '"public"',
  });
  expectMmapError(() => mapAnonymous(PAGE, { mode: "private", shared: true }), {
    code: "EINVAL",
    errno: 22,
    syscall: "mmap",
    fromKernel: false,
  });
});

Deno.test("sys.pathStatus and sys.fileStatus: a file's type and size, by path or descriptor", () => {
  using scratch = useScratch("status");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(PAGE + 5));
  assert.deepEqual(sys.pathStatus(path), { type: "regular file", size: PAGE + 5 });
  const fifo = scratch.file("fifo");
  sys.mkfifo(fifo);
  assert.equal(sys.pathStatus(fifo).type, "FIFO");
  assert.equal(sys.pathStatus(scratch.dir).type, "directory");
  // What mapFile does if the path turns into a FIFO between its look and open(): O_NONBLOCK
  // makes open return at once, and fstat on the descriptor sees the FIFO.
  const fd = sys.open(fifo, O.RDONLY | O.NONBLOCK | O.CLOEXEC);
  try {
    assert.equal(sys.fileStatus(fd).type, "FIFO");
  } finally {
    sys.close(fd);
  }
  expectMmapError(() => sys.pathStatus(scratch.file("missing")), {
    code: "ENOENT",
    errno: 2,
    syscall: "statx",
    fromKernel: true,
  });
});
