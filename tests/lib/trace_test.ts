/**
 * The call record: every libc call through the wrapper, with its arguments,
 * result and errno name; never the wrapper's own /proc reads.
 */

import assert from "node:assert/strict";
import {
  type CallRecord,
  faultCounts,
  fileSystemOf,
  formatCall,
  MAP,
  mapAnonymous,
  mapFile,
  MmapError,
  procIo,
  procMaps,
  PROT,
  recordCalls,
  recordedCalls,
  smaps,
  startRecording,
  stopRecording,
  sys,
} from "../../lib/mod.ts";
import { useScratch, writeSynced } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();
const hexOf = (address: bigint) => "0x" + address.toString(16);

Deno.test("recordCalls captures mmap and munmap with their arguments and results", () => {
  const { value: address, calls } = recordCalls(() => {
    const m = mapAnonymous(2 * PAGE);
    m.unmap();
    return m.address;
  });
  assert.deepEqual(calls, [
    {
      call: "mmap",
      args: {
        addr: null,
        length: 2 * PAGE,
        prot: PROT.READ | PROT.WRITE,
        flags: MAP.PRIVATE | MAP.ANONYMOUS,
        fd: -1,
        offset: 0,
      },
      result: hexOf(address),
    },
    { call: "munmap", args: { addr: hexOf(address), length: 2 * PAGE }, result: 0 },
  ]);
});

Deno.test("a failed call is recorded with its errno name, and the error still thrown", () => {
  const { calls } = recordCalls(() => {
    assert.throws(
      () => sys.mmap(null, 0, PROT.READ, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0),
      MmapError,
    );
  });
  assert.equal(calls.length, 1);
  assert.equal(calls[0].call, "mmap");
  assert.equal(calls[0].result, "MAP_FAILED");
  assert.equal(calls[0].error, "EINVAL");
  assert.equal(calls[0].args.length, 0);
  assert.equal(
    formatCall(calls[0]),
    "mmap(NULL, 0, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = MAP_FAILED EINVAL",
  );
});

Deno.test("a refused call (fromKernel false) makes no libc call, so records nothing", () => {
  const { calls } = recordCalls(() => {
    assert.throws(() => mapAnonymous(0), MmapError);
  });
  assert.deepEqual(calls, []);
});

Deno.test("mapFile records open, mmap and close, with the descriptor threaded through", () => {
  using scratch = useScratch("trace-mapfile");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(PAGE));
  const { value: m, calls } = recordCalls(() => mapFile(path, { access: "readwrite" }));
  using _m = m;
  const names = calls.map((c) => c.call);
  assert.equal(names[0], "open");
  assert.equal(names.at(-1), "close");
  const mmap = calls.filter((c) => c.call === "mmap");
  assert.equal(mmap.length, 1);
  const fd = calls[0].result;
  assert.equal(typeof fd, "number");
  assert.equal(calls[0].args.path, path);
  assert.equal(mmap[0].args.fd, fd);
  assert.equal(mmap[0].args.flags, MAP.SHARED);
  assert.equal(mmap[0].args.prot, PROT.READ | PROT.WRITE);
  assert.equal(mmap[0].result, hexOf(m.address));
  // Like strace: no mode without O_CREAT. O_NONBLOCK: had the path become a FIFO since mapFile
  // looked, open would not wait for a writer.
  assert.equal(formatCall(calls[0]), `open("${path}", O_RDWR|O_NONBLOCK|O_CLOEXEC) = ${fd}`);
  assert.equal(
    formatCall(mmap[0]),
    `mmap(NULL, ${PAGE}, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd}, 0) = ${hexOf(m.address)}`,
  );
});

Deno.test("formatCall prints flags, advice, protections and whence by name, and no mode without O_CREAT", () => {
  const f = (call: string, args: CallRecord["args"], result: CallRecord["result"] = 0) =>
    formatCall({ call, args, result });
  assert.equal(
    f("mmap", { addr: null, length: 4096, prot: 3, flags: 0x22, fd: -1, offset: 0 }, "0x7f00"),
    "mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f00",
  );
  assert.equal(
    f("mmap", { addr: null, length: 8192, prot: 1, flags: 0x8001, fd: 3, offset: 4096 }, "0x1000"),
    "mmap(NULL, 8192, PROT_READ, MAP_SHARED|MAP_POPULATE, 3, 4096) = 0x1000",
  );
  assert.equal(
    f("mprotect", { addr: "0x7f00", length: 4096, prot: 0 }),
    "mprotect(0x7f00, 4096, PROT_NONE) = 0",
  );
  assert.equal(
    f("msync", { addr: "0x7f00", length: 4096, flags: 6 }),
    "msync(0x7f00, 4096, MS_INVALIDATE|MS_SYNC) = 0",
  );
  assert.equal(
    f("msync", { addr: "0x7f00", length: 4096, flags: 1 }),
    "msync(0x7f00, 4096, MS_ASYNC) = 0",
  );
  assert.equal(
    f("madvise", { addr: "0x7f00", length: 4096, advice: 2 }),
    "madvise(0x7f00, 4096, MADV_SEQUENTIAL) = 0",
  );
  assert.equal(
    f("madvise", { addr: "0x7f00", length: 4096, advice: 4 }),
    "madvise(0x7f00, 4096, MADV_DONTNEED) = 0",
  );
  assert.equal(
    f("open", { path: "/a b", flags: 0, mode: 0o600 }, 3),
    `open("/a b", O_RDONLY) = 3`,
  );
  assert.equal(
    f("lseek", { fd: 3, offset: 0, whence: 2 }, 8192),
    "lseek(3, 0, SEEK_END) = 8192",
  );
  assert.equal(f("lseek", { fd: 3, offset: 10, whence: 0 }, 10), "lseek(3, 10, SEEK_SET) = 10");
  assert.equal(
    f("open", { path: "x", flags: 0o2000102, mode: 0o644 }, 4),
    `open("x", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 4`,
  );
  assert.equal(
    f("mmap", { addr: null, length: 1, prot: 8, flags: 0x40000, fd: -1, offset: 0 }, "MAP_FAILED"),
    "mmap(NULL, 1, 0x8, 0x40000, -1, 0) = MAP_FAILED",
  );
  assert.equal(
    formatCall({ call: "close", args: { fd: 3 }, result: -1, error: "EBADF" }),
    "close(3) = -1 EBADF",
  );
});

Deno.test("the wrapper's own /proc reads are not recorded", () => {
  using m = mapAnonymous(2 * PAGE);
  m.bytes[0] = 1;
  const { calls } = recordCalls(() => {
    m.smaps();
    m.pages();
    smaps("self");
    procMaps("self");
    procIo("self");
    faultCounts("self");
    faultCounts(Deno.pid);
    fileSystemOf(".");
  });
  assert.deepEqual(calls, [], calls.map(formatCall).join("\n"));
  // ...while a real call in the same stretch is.
  const { calls: more } = recordCalls(() => {
    m.smaps();
    m.residency();
    m.pages();
  });
  assert.deepEqual(more.map((c) => c.call), ["mincore"]);
});

Deno.test("recordCalls turns recording off afterwards, even when fn throws", () => {
  assert.throws(
    () =>
      recordCalls(() => {
        mapAnonymous(PAGE).unmap();
        throw new Error("student code failed");
      }),
    /student code failed/,
  );
  mapAnonymous(PAGE).unmap();
  assert.deepEqual(recordedCalls(), [], "nothing recorded once recording is off");
});

Deno.test("startRecording / recordedCalls / stopRecording", () => {
  startRecording();
  try {
    using m = mapAnonymous(PAGE);
    assert.deepEqual(recordedCalls().map((c) => c.call), ["mmap"]);
    m.sync();
  } finally {
    const calls = stopRecording();
    assert.deepEqual(calls.map((c) => c.call), ["mmap", "msync", "munmap"]);
  }
  assert.deepEqual(stopRecording(), []);
});
