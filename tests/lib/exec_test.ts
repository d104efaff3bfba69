/**
 * Executable memory and where a mapping lands: `protect("readexec")`,
 * `Mapping.asFunction` (and what it refuses), the `address` hint and
 * `exact` (`MAP_FIXED_NOREPLACE`) of `mapAnonymous`. Running code from a page
 * without `PROT_EXEC`, or storing into one that is `r-x`, is a SIGSEGV: those
 * run in a child process.
 *
 * Where this kernel refuses executable anonymous memory (the kernel profile's
 * `execAnonymous`), the tests that run code say so and stop.
 */

import assert from "node:assert/strict";
import {
  ArgumentError,
  formatCall,
  MAP,
  mapAnonymous,
  MappingClosedError,
  MmapError,
  NotExecutableError,
  procMaps,
  PROT,
  recordCalls,
  RETURN_INSTRUCTION,
  sys,
} from "../../lib/mod.ts";
import { kernelProfile } from "../../lib/profile.ts";
import { PROJECT_ROOT, runChild, useScratch } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();
const ARCH = Deno.build.arch as "x86_64" | "aarch64";

/** `add(a, b)` returns `a + b + 42` (int32), as lab 11 gives it; `K` is a little-endian int32 at `at`. */
const ADD: Record<"x86_64" | "aarch64", { bytes: number[]; at: number }> = {
  // lea eax, [rdi+rsi]; add eax, 42; ret
  x86_64: { bytes: [0x8d, 0x04, 0x37, 0x05, 0x2a, 0x00, 0x00, 0x00, 0xc3], at: 4 },
  // ldr w2, #16; add w0, w0, w1; add w0, w0, w2; ret; .word 42
  aarch64: {
    bytes: [
      ...[0x82, 0x00, 0x00, 0x18, 0x00, 0x00, 0x01, 0x0b, 0x00, 0x00, 0x02, 0x0b],
      ...[0xc0, 0x03, 0x5f, 0xd6, 0x2a, 0x00, 0x00, 0x00],
    ],
    at: 16,
  },
};
const SIGNATURE = { parameters: ["i32", "i32"], result: "i32" } as const;

/** Whether this machine lets a process make anonymous memory executable (else: skip, and say so). */
function execAllowed(): boolean {
  const allowed = kernelProfile(PROJECT_ROOT).execAnonymous !== false;
  if (!allowed) console.log("  (this kernel refuses executable anonymous memory: not run)");
  return allowed;
}

function addCode(k: number): Uint8Array {
  const code = Uint8Array.from(ADD[ARCH].bytes);
  new DataView(code.buffer).setInt32(ADD[ARCH].at, k, true);
  return code;
}

function permsAt(address: bigint): string | undefined {
  return procMaps("self").find((e) => e.start <= address && address < e.end)?.perms;
}

Deno.test('protect("readexec") is PROT_READ|PROT_EXEC: /proc/self/maps shows r-x, and no w', () => {
  if (!execAllowed()) return;
  using m = mapAnonymous(PAGE);
  assert.equal(permsAt(m.address), "rw-p");
  m.bytes.set(addCode(0));
  const { calls } = recordCalls(() => m.protect("readexec"));
  assert.equal(m.access, "readexec");
  assert.equal(permsAt(m.address), "r-xp");
  assert.equal(calls.length, 1);
  assert.equal(calls[0].args.prot, PROT.READ | PROT.EXEC);
  assert.match(formatCall(calls[0]), /^mprotect\(0x[0-9a-f]+, \d+, PROT_READ\|PROT_EXEC\) = 0$/);
  assert.equal(m.bytes[0], addCode(0)[0], "still readable");
});

Deno.test("asFunction runs the bytes, and the call record shows each call with its result", () => {
  if (!execAllowed()) return;
  using m = mapAnonymous(PAGE);
  const k = -123456;
  m.bytes.set(addCode(k));
  m.protect("readexec");
  const add = m.asFunction(SIGNATURE);
  const { value, calls } = recordCalls(() => [add(3, 4), add(2 ** 31 - 1, 1)]);
  assert.deepEqual(value, [3 + 4 + k, (2 ** 31 - 1 + 1 + k) | 0]);
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[0], {
    call: "call",
    args: { addr: sys.hex(sys.pointerAt(m.address)), arg0: 3, arg1: 4 },
    result: 7 + k,
  });
  assert.match(formatCall(calls[0]), /^call\(0x[0-9a-f]+, 3, 4\) = -123449$/);
});

Deno.test("sys.functionAt calls without checks, and records the call", () => {
  if (!execAllowed()) return;
  using m = mapAnonymous(PAGE);
  m.bytes.set(addCode(5));
  m.protect("readexec");
  const add = sys.functionAt(m.address, SIGNATURE);
  const { value, calls } = recordCalls(() => add(1, 1));
  assert.equal(value, 7);
  assert.deepEqual(calls.map(formatCall), [`call(${sys.hex(sys.pointerAt(m.address))}, 1, 1) = 7`]);
  assert.throws(
    () => sys.functionAt(0n, SIGNATURE),
    (err) => err instanceof ArgumentError && err.argument === "address",
  );
});

Deno.test("asFunction at an offset: the entry point is that byte of the mapping", () => {
  if (!execAllowed()) return;
  using m = mapAnonymous(PAGE);
  const at = 64;
  m.bytes.set(addCode(1), at);
  m.protect("readexec");
  const add = m.asFunction(SIGNATURE, at);
  assert.equal(add(10, 20), 31);
  const { calls } = recordCalls(() => add(0, 0));
  assert.equal(calls[0].args.addr, sys.hex(sys.pointerAt(m.address + BigInt(at))));
});

Deno.test("asFunction refuses a mapping that is not executable, and a call after it stopped being one", () => {
  using m = mapAnonymous(PAGE);
  m.bytes.set(RETURN_INSTRUCTION[ARCH]);
  const refused = recordCalls(() => {
    try {
      m.asFunction({ parameters: [], result: "void" });
    } catch (err) {
      return err;
    }
  });
  assert.ok(refused.value instanceof NotExecutableError);
  assert.equal(refused.value.operation, "asFunction");
  assert.equal(refused.value.access, "readwrite");
  assert.match(refused.value.message, /protect\("readexec"\)/);
  assert.deepEqual(refused.calls, [], "refused before anything ran");
  if (!execAllowed()) return;
  m.protect("readexec");
  const ret = m.asFunction({ parameters: [], result: "void" });
  assert.deepEqual(recordCalls(() => ret()).calls.map(formatCall), [
    `call(${sys.hex(sys.pointerAt(m.address))}) = void`,
  ]);
  m.protect("readwrite"); // patching it again: a call now would jump into a page without PROT_EXEC
  assert.throws(
    () => ret(),
    (err) => err instanceof NotExecutableError && err.operation === "call",
  );
  m.protect("readexec");
  ret();
});

Deno.test("a function of an unmapped mapping throws MappingClosedError instead of jumping into nothing", () => {
  if (!execAllowed()) return;
  const m = mapAnonymous(PAGE);
  m.bytes.set(RETURN_INSTRUCTION[ARCH]);
  m.protect("readexec");
  const ret = m.asFunction({ parameters: [], result: "void" });
  m.unmap();
  assert.throws(() => ret(), MappingClosedError);
  assert.throws(() => m.asFunction({ parameters: [], result: "void" }), MappingClosedError);
});

Deno.test("asFunction: a bad signature or offset is an ArgumentError", () => {
  using m = mapAnonymous(PAGE);
  const bad: [unknown, unknown, string][] = [
    [null, 0, "definition"],
    [{ parameters: "i32", result: "i32" }, 0, "definition.parameters"],
    [{ parameters: ["int"], result: "i32" }, 0, "definition.parameters"],
    [{ parameters: [], result: "int" }, 0, "definition.result"],
    [{ parameters: [], result: "void", nonblocking: true }, 0, "definition.nonblocking"],
    [{ parameters: [], result: "void" }, PAGE, "offset"],
    [{ parameters: [], result: "void" }, -1, "offset"],
    [{ parameters: [], result: "void" }, 1.5, "offset"],
  ];
  for (const [definition, offset, argument] of bad) {
    assert.throws(
      () => (m.asFunction as (d: unknown, o: unknown) => unknown)(definition, offset),
      (err) => err instanceof ArgumentError && err.argument === argument,
      `${JSON.stringify(definition)} at ${offset}`,
    );
  }
});

Deno.test('mapAnonymous refuses access "readexec": fresh memory holds no code', () => {
  const { value, calls } = recordCalls(() => {
    try {
      mapAnonymous(PAGE, { access: "readexec" as "read" });
    } catch (err) {
      return err;
    }
  });
  assert.ok(value instanceof ArgumentError);
  assert.equal(value.argument, "options.access");
  assert.match(value.message, /protect\("readexec"\)/);
  assert.deepEqual(calls, []);
});

/** A range of `pages` pages that nothing maps right now. */
function freeRange(pages: number): bigint {
  const probe = mapAnonymous(pages * PAGE);
  const at = probe.address;
  probe.unmap();
  return at;
}

Deno.test("address: a hint the kernel takes when the range is free, and ignores when it is not", () => {
  const free = freeRange(2);
  {
    using m = mapAnonymous(2 * PAGE, { address: free });
    const { calls } = recordCalls(() => mapAnonymous(PAGE, { address: m.address }).unmap());
    assert.equal(m.address, free, "a free, aligned hint is taken on Linux");
    // The occupied hint: mapped elsewhere, and the mapping that was there is untouched.
    const mmap = calls.find((c) => c.call === "mmap")!;
    assert.equal(mmap.args.addr, sys.hex(sys.pointerAt(free)));
    assert.notEqual(mmap.result, mmap.args.addr);
    assert.equal(Number(mmap.args.flags) & (MAP.FIXED | MAP.FIXED_NOREPLACE), 0);
  }
});

Deno.test("exact: MAP_FIXED_NOREPLACE maps exactly there, or fails with EEXIST and leaves the owner alone", () => {
  const free = freeRange(1);
  {
    using m = mapAnonymous(PAGE, { address: free, exact: true });
    assert.equal(m.address, free);
    m.bytes.fill(0x5a);
    const { value, calls } = recordCalls(() => {
      try {
        mapAnonymous(PAGE, { address: free, exact: true });
      } catch (err) {
        return err;
      }
    });
    assert.ok(value instanceof MmapError);
    assert.equal(value.code, "EEXIST");
    assert.equal(value.fromKernel, true);
    assert.match(value.hint, /never replaces/);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].error, "EEXIST");
    assert.match(formatCall(calls[0]), /MAP_PRIVATE\|MAP_ANONYMOUS\|MAP_FIXED_NOREPLACE/);
    assert.ok(m.bytes.every((b) => b === 0x5a), "the mapping that was there keeps its bytes");
  }
});

Deno.test("exact: an unaligned address is EINVAL before the call; no address is an ArgumentError", () => {
  const unaligned = recordCalls(() => {
    try {
      mapAnonymous(PAGE, { address: freeRange(1) + 8n, exact: true });
    } catch (err) {
      return err;
    }
  });
  assert.ok(unaligned.value instanceof MmapError);
  assert.equal(unaligned.value.code, "EINVAL");
  assert.equal(unaligned.value.fromKernel, false);
  assert.deepEqual(unaligned.calls.filter((c) => c.call === "mmap" && c.args.flags !== 0x22), []);
  assert.throws(
    () => mapAnonymous(PAGE, { exact: true }),
    (err) => err instanceof ArgumentError && err.argument === "options.address",
  );
  assert.throws(
    () => mapAnonymous(PAGE, { address: -1n }),
    (err) => err instanceof ArgumentError && err.argument === "options.address",
  );
  assert.throws(
    () => mapAnonymous(PAGE, { address: "0x1000" as unknown as bigint }),
    (err) => err instanceof ArgumentError && err.argument === "options.address",
  );
});

Deno.test("plain MAP_FIXED (sys.mmap only) replaces what was there, without a word", () => {
  using owner = mapAnonymous(PAGE);
  owner.bytes.fill(0x77);
  const ptr = sys.mmap(
    sys.pointerAt(owner.address),
    PAGE,
    PROT.READ | PROT.WRITE,
    MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED,
    -1,
    0,
  );
  assert.equal(sys.addressOf(ptr), owner.address);
  assert.ok(owner.bytes.every((b) => b === 0), "the old bytes are gone: fresh zero-filled memory");
});

const CRASH = `
import { mapAnonymous, sys } from "__LIB__";
const [what, hex] = Deno.args;
const code = Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
const m = mapAnonymous(sys.pageSize());
m.bytes.set(code);
console.log("start");
if (what === "no-exec") {
  console.log(sys.functionAt(m.address, { parameters: ["i32", "i32"], result: "i32" })(1, 2));
} else {
  m.protect("readexec");
  console.log(m.asFunction({ parameters: ["i32", "i32"], result: "i32" })(1, 2));
  if (what === "store") m.bytes[0] = 0x90;
}
console.log("survived");
`;

Deno.test("running code from a page without PROT_EXEC, or storing into an r-x page, is SIGSEGV", async () => {
  if (!execAllowed()) return;
  using scratch = useScratch("exec-faults");
  const hex = Array.from(addCode(0), (b) => b.toString(16).padStart(2, "0")).join("");
  const fine = await runChild({ dir: scratch.dir, script: CRASH, args: ["fine", hex] });
  assert.equal(fine.code, 0, fine.stderr);
  assert.deepEqual(fine.stdout.trim().split("\n"), ["start", "3", "survived"]);
  const noExec = await runChild({ dir: scratch.dir, script: CRASH, args: ["no-exec", hex] });
  assert.equal(noExec.signal, "SIGSEGV", noExec.stderr);
  assert.deepEqual(noExec.stdout.trim().split("\n"), ["start"]);
  const store = await runChild({ dir: scratch.dir, script: CRASH, args: ["store", hex] });
  assert.equal(store.signal, "SIGSEGV", store.stderr);
  assert.deepEqual(store.stdout.trim().split("\n"), ["start", "3"]);
});
