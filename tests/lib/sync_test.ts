/**
 * sync() (msync MS_SYNC) on a disk-backed file: dirty pages turn clean in
 * smaps, and writeback write-protects them, so the next write to each synced
 * page costs exactly one minor fault.
 */

import assert from "node:assert/strict";
import {
  faultCounts,
  fileSystemOf,
  mapFile,
  type Mapping,
  MS,
  recordCalls,
  sys,
} from "../../lib/mod.ts";
import { scratchRoot, useScratch, writeSynced } from "../helpers/scratch.ts";
import { measureKernelProfile } from "../../lib/profile.ts";

const PAGE = sys.pageSize();
const FS = fileSystemOf(scratchRoot());
// Measured, not inferred from the file system's name (overlayfs, 9p and others vary).
const NO_WRITEBACK = !measureKernelProfile({ scratchCandidates: [scratchRoot()] }).scratch
  .msyncCleans;
if (NO_WRITEBACK) {
  console.warn(
    `sync_test: skipping writeback tests: ${scratchRoot()} is on ${FS.name}, ` +
      `where msync cleans no page (no writeback)`,
  );
}

/** Writes one byte into each of the given pages; returns the minor faults it cost. */
function writePages(m: Mapping, pages: readonly number[], value: number): number {
  const bytes = m.bytes;
  const before = faultCounts().minor;
  for (let i = 0; i < pages.length; i++) bytes[pages[i] * PAGE + 1] = value;
  return faultCounts().minor - before;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

Deno.test("the scratch directory is on a disk-backed file system (or the sync tests say why not)", () => {
  assert.equal(typeof FS.type, "number");
  assert.ok(FS.name.length > 0);
  assert.equal(FS.diskBacked, FS.name !== "tmpfs" && FS.name !== "proc");
  assert.equal(fileSystemOf("/proc/self").diskBacked, false, "procfs has no writeback");
});

Deno.test({
  name: "sync() turns dirty pages clean in smaps (Private_Dirty → Private_Clean)",
  ignore: NO_WRITEBACK,
  fn() {
    using scratch = useScratch("sync-clean");
    const path = scratch.file("data.bin");
    writeSynced(path, new Uint8Array(4 * PAGE));
    using m = mapFile(path, { access: "readwrite" });
    writePages(m, range(4), 1);
    const dirty = m.smaps();
    assert.equal(dirty.privateDirty, 4 * PAGE);
    assert.equal(dirty.privateClean, 0);
    assert.ok(dirty.vmFlags.includes("sh"), `shared: "sh" in ${dirty.vmFlags}`);
    m.sync();
    const clean = m.smaps();
    assert.equal(clean.privateDirty, 0);
    assert.equal(clean.privateClean, 4 * PAGE);
    assert.equal(clean.rss, 4 * PAGE, "syncing does not drop pages");
    writePages(m, [2], 2);
    assert.equal(m.smaps().privateDirty, PAGE, "a new write dirties that page again");
  },
});

Deno.test({
  name: "re-writing after sync costs one minor fault per synced page, none per unsynced page",
  ignore: NO_WRITEBACK,
  fn() {
    using scratch = useScratch("sync-faults");
    const path = scratch.file("data.bin");
    const pages = 64;
    const synced = 32;
    writeSynced(path, new Uint8Array(pages * PAGE));
    using m = mapFile(path, { access: "readwrite" });
    const all = range(pages);
    const first = writePages(m, all, 1);
    assert.ok(first >= pages - 2, `first write of ${pages} pages: ${first} faults`);
    // Fault counters count the whole process: take the least of a few trials,
    // since other activity can only add faults, never remove them.
    let rewrite = Infinity;
    let afterSync = Infinity;
    for (let trial = 0; trial < 12; trial++) {
      rewrite = Math.min(rewrite, writePages(m, all, 2 + trial));
      m.sync({ offset: 0, length: synced * PAGE });
      afterSync = Math.min(afterSync, writePages(m, all, 10 + trial));
    }
    assert.equal(rewrite, 0, "writing dirty pages again costs nothing");
    assert.equal(afterSync, synced, "one fault per synced page");
  },
});

Deno.test({
  name: "an unaligned sync range is aligned out to its page: sync({offset: 5000, length: 10})",
  ignore: NO_WRITEBACK,
  fn() {
    using scratch = useScratch("sync-unaligned");
    const path = scratch.file("data.bin");
    writeSynced(path, new Uint8Array(3 * PAGE));
    using m = mapFile(path, { access: "readwrite" });
    const offset = 5000;
    const page = Math.floor(offset / PAGE); // 1 with 4096-byte pages
    writePages(m, [0, 1, 2], 1);
    assert.equal(m.smaps().privateDirty, 3 * PAGE);

    const { calls } = recordCalls(() => m.sync({ offset, length: 10 }));
    assert.equal(calls.length, 1);
    assert.equal(calls[0].call, "msync");
    assert.deepEqual(calls[0].args, {
      addr: "0x" + (m.address + BigInt(page * PAGE)).toString(16),
      length: PAGE,
      flags: MS.SYNC,
    });
    const entry = m.smaps();
    assert.equal(entry.privateClean, PAGE, "exactly one page cleaned");
    assert.equal(entry.privateDirty, 2 * PAGE);

    // Which one: only that page costs a fault when written again.
    const faults = [Infinity, Infinity, Infinity];
    for (let trial = 0; trial < 12; trial++) {
      if (trial > 0) m.sync({ offset, length: 10 });
      for (const p of [0, 1, 2]) faults[p] = Math.min(faults[p], writePages(m, [p], 20 + trial));
    }
    assert.deepEqual(faults, [0, 0, 0].map((_, p) => (p === page ? 1 : 0)));
  },
});

Deno.test("sync options: async, invalidate and ranges reach msync as flags and pages", () => {
  using scratch = useScratch("sync-flags");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(4 * PAGE));
  using m = mapFile(path, { access: "readwrite", length: 3 * PAGE + 10 });
  const hex = (page: number) => "0x" + (m.address + BigInt(page * PAGE)).toString(16);
  const { calls } = recordCalls(() => {
    m.sync();
    m.sync({ mode: "async" });
    m.sync({ invalidate: true });
    m.sync({ offset: PAGE - 1, length: 2 }); // straddles pages 0 and 1
    m.sync({ offset: 3 * PAGE + 1 }); // to the end: the last, partial page
    m.sync({ offset: 0, length: 0 });
  });
  assert.deepEqual(calls.map((c) => c.args), [
    { addr: hex(0), length: 4 * PAGE, flags: MS.SYNC },
    { addr: hex(0), length: 4 * PAGE, flags: MS.ASYNC },
    { addr: hex(0), length: 4 * PAGE, flags: MS.SYNC | MS.INVALIDATE },
    { addr: hex(0), length: 2 * PAGE, flags: MS.SYNC },
    { addr: hex(3), length: PAGE, flags: MS.SYNC },
    { addr: hex(0), length: 0, flags: MS.SYNC },
  ]);
});
