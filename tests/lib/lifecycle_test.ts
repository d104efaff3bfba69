/**
 * A Mapping's life: use after unmap is an error, never a crash; unmap is
 * idempotent; `using` releases the memory; closing a descriptor does not.
 */

import assert from "node:assert/strict";
import {
  mapAnonymous,
  mapDescriptor,
  mapFile,
  type Mapping,
  MappingClosedError,
  mapSharedMemory,
  MmapError,
  O,
  procMaps,
  recordCalls,
  resizeFile,
  sys,
} from "../../lib/mod.ts";
import { runChild, useScratch } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();

/** Every method that needs live memory, by the name a student calls. */
const METHODS: Record<string, (m: Mapping) => unknown> = {
  bytes: (m) => m.bytes,
  sync: (m) => m.sync(),
  protect: (m) => m.protect("read"),
  advise: (m) => m.advise("sequential"),
  discard: (m) => m.discard(),
  residency: (m) => m.residency(),
  smaps: (m) => m.smaps(),
  pages: (m) => m.pages(),
};

function covers(address: bigint) {
  return procMaps("self").filter((e) => e.start <= address && address < e.end);
}

Deno.test("after unmap: every view has length 0 and every method throws MappingClosedError", () => {
  const m = mapAnonymous(2 * PAGE);
  const view = m.bytes;
  const words = new Int32Array(m.bytes.buffer);
  const tail = m.bytes.subarray(PAGE);
  view[0] = 42;
  words[1] = 7;
  assert.equal(view.length, 2 * PAGE);
  assert.equal(words.length, (2 * PAGE) / 4);
  assert.equal(m.closed, false);

  m.unmap();

  assert.equal(m.closed, true);
  assert.equal(view.length, 0);
  assert.equal(view.byteLength, 0);
  assert.equal(words.length, 0);
  assert.equal(tail.length, 0);
  assert.equal(view[0], undefined, "a stale view reads nothing (and does not crash)");
  view[0] = 1; // a write to a detached view is dropped, not a segfault
  assert.equal(view[0], undefined);
  for (const [name, call] of Object.entries(METHODS)) {
    assert.throws(() => call(m), MappingClosedError, `${name}() after unmap`);
  }
  assert.match(m.toString(), /unmapped/);
  // Still alive, and still able to map.
  using again = mapAnonymous(PAGE);
  again.bytes[0] = 1;
  assert.equal(again.bytes[0], 1);
});

Deno.test({
  name: "MappingClosedError.operation names the method that was called",
  fn() {
    const m = mapAnonymous(PAGE);
    m.unmap();
    for (const [name, call] of Object.entries(METHODS)) {
      assert.throws(() => call(m), (err: unknown) => {
        assert.ok(err instanceof MappingClosedError);
        assert.equal(err.operation, name);
        assert.ok(err.message.startsWith(`${name}()`), err.message);
        return true;
      });
    }
  },
});

Deno.test("a stale view read after unmap does not kill the process (child exits 0)", async () => {
  using scratch = useScratch("stale-view");
  const result = await runChild({
    dir: scratch.dir,
    script: `
      import { mapAnonymous } from "__LIB__";
      const m = mapAnonymous(1 << 20);
      const view = m.bytes;
      view.fill(9);
      m.unmap();
      let sum = 0;
      for (let i = 0; i < 1 << 20; i += 4096) sum += view[i] ?? 0;
      view[0] = 1;
      console.log(view.length, sum);
    `,
  });
  assert.equal(result.signal, null, result.stderr);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout.trim(), "0 0");
});

Deno.test("unmap twice is harmless and calls munmap once", () => {
  const first = recordCalls(() => {
    const m = mapAnonymous(PAGE);
    m.unmap();
    return m;
  });
  assert.deepEqual(first.calls.map((c) => c.call), ["mmap", "munmap"]);
  const second = recordCalls(() => first.value.unmap());
  assert.deepEqual(second.calls, [], "the second unmap() makes no call");
  assert.equal(first.value.closed, true);
});

Deno.test("`using` unmaps at the end of the block: closed, and gone from /proc/self/maps", () => {
  using scratch = useScratch("using");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(3 * PAGE).fill(5));
  let kept: Mapping;
  let address: bigint;
  {
    using m = mapFile(path);
    kept = m;
    address = m.address;
    assert.equal(m.bytes[0], 5);
    const areas = covers(address);
    assert.equal(areas.length, 1, "the mapping is listed while alive");
    assert.equal(areas[0].path, path);
    assert.equal(areas[0].start, address);
    assert.equal(areas[0].end, address + BigInt(3 * PAGE));
    assert.equal(areas[0].perms, "r--s");
  }
  assert.equal(kept.closed, true);
  assert.equal(covers(address).length, 0, "no area covers the old address");
  assert.equal(procMaps("self").filter((e) => e.path === path).length, 0);
});

Deno.test("`using` unmaps even when the block throws", () => {
  let kept: Mapping | undefined;
  assert.throws(() => {
    using m = mapAnonymous(PAGE);
    kept = m;
    throw new Error("boom");
  }, /boom/);
  assert.equal(kept?.closed, true);
});

Deno.test("mapFile closes its descriptor; the mapping keeps working without it", () => {
  using scratch = useScratch("fd-closed");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new TextEncoder().encode("still here"));
  const { value: m, calls } = recordCalls(() => mapFile(path));
  using _m = m;
  const open = calls.find((c) => c.call === "open");
  const close = calls.find((c) => c.call === "close");
  assert.ok(open && close, JSON.stringify(calls));
  assert.equal(close.args.fd, open.result, "the descriptor it opened is the one it closed");
  assert.equal(calls.at(-1)?.call, "close");
  assert.equal(new TextDecoder().decode(m.bytes), "still here");
});

Deno.test("mapDescriptor: the descriptor stays open and the caller's; closing it does not unmap", () => {
  using scratch = useScratch("map-descriptor");
  const path = scratch.file("data.bin");
  Deno.writeFileSync(path, new Uint8Array(2 * PAGE));
  const fd = sys.open(path, O.RDWR | O.CLOEXEC);
  const m = mapDescriptor(fd, { access: "readwrite" });
  assert.equal(m.source.path, `/proc/self/fd/${fd}`);
  assert.equal(m.source.mode, "shared");
  assert.equal(m.length, 2 * PAGE);
  sys.close(fd); // ours to close; throws EBADF if mapDescriptor had closed it
  m.bytes[PAGE] = 0x5a;
  m.unmap();
  assert.equal(Deno.readFileSync(path)[PAGE], 0x5a);
});

// SURPRISE lib/sys.ts:207-211 (fileSize), used by lib/mapping.ts:495:
// mapDescriptor() moves the caller's descriptor to offset 0 (it measures the
// file with lseek(SEEK_END) and then lseek(0, SEEK_SET)), so a later write()
// on that descriptor lands at the start of the file. Measured: lseek to 100,
// mapDescriptor, lseek(fd, 0, SEEK_CUR) = 0. Fix: restore the old offset
// (lseek(fd, 0, SEEK_CUR) first), or use fstat for the size.
Deno.test({
  name: "mapDescriptor leaves the descriptor's file offset where it was",
  fn() {
    using scratch = useScratch("fd-offset");
    const path = scratch.file("data.bin");
    Deno.writeFileSync(path, new Uint8Array(PAGE));
    const fd = sys.open(path, O.RDWR | O.CLOEXEC);
    try {
      sys.lseek(fd, 100, 0);
      using _m = mapDescriptor(fd);
      assert.equal(sys.lseek(fd, 0, 1), 100);
    } finally {
      sys.close(fd);
    }
  },
});

Deno.test("SharedMemory.unmap closes the memfd too, once", () => {
  const shm = mapSharedMemory(PAGE, "lifecycle");
  const fd = shm.fd;
  assert.equal(shm.path, `/proc/${Deno.pid}/fd/${fd}`);
  shm.bytes[0] = 1;
  const { calls } = recordCalls(() => {
    shm.unmap();
    shm.unmap();
  });
  assert.deepEqual(calls.map((c) => c.call), ["munmap", "close"]);
  assert.equal(calls[1].args.fd, fd);
  assert.equal(shm.closed, true);
  assert.throws(() => shm.bytes, MappingClosedError);
});

Deno.test("resizeFile creates or resizes a file; refuses a negative size", () => {
  using scratch = useScratch("resize");
  const path = scratch.file("grown.bin");
  resizeFile(path, 3 * PAGE + 5);
  assert.equal(Deno.statSync(path).size, 3 * PAGE + 5);
  resizeFile(path, 10);
  assert.equal(Deno.statSync(path).size, 10);
  assert.throws(() => resizeFile(path, -1), MmapError);
});
