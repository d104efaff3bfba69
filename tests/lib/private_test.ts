/**
 * MAP_PRIVATE: copy-on-write. Writes never reach the file; the kernel shows
 * the copy in pagemap (bit 61 cleared, bit 56 set, a new frame) and in smaps
 * (Anonymous).
 */

import assert from "node:assert/strict";
import { drawPages, mapFile, sys } from "../../lib/mod.ts";
import { useScratch, writeSynced } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();

Deno.test("private writes never reach the file, before or after unmap", () => {
  using scratch = useScratch("private-writes");
  const path = scratch.file("data.bin");
  const original = new Uint8Array(3 * PAGE).fill(0x11);
  writeSynced(path, original);
  {
    using m = mapFile(path, { mode: "private", access: "readwrite" });
    assert.equal(m.source.mode, "private");
    m.bytes.fill(0x22, PAGE, 2 * PAGE);
    m.sync(); // msync of a private mapping writes nothing to the file
    assert.equal(m.bytes[PAGE], 0x22);
    assert.deepEqual(Deno.readFileSync(path), original);
    using shared = mapFile(path);
    assert.equal(shared.bytes[PAGE], 0x11, "a shared mapping sees the file, not the copy");
  }
  assert.deepEqual(Deno.readFileSync(path), original);
});

Deno.test("a private read-write mapping needs only read access to the file", () => {
  using scratch = useScratch("private-readonly-file");
  const path = scratch.file("ro.bin");
  writeSynced(path, new Uint8Array(PAGE).fill(4));
  Deno.chmodSync(path, 0o444);
  using m = mapFile(path, { mode: "private", access: "readwrite" });
  m.bytes[0] = 5;
  assert.equal(m.bytes[0], 5);
  assert.equal(Deno.readFileSync(path)[0], 4);
});

Deno.test("copy-on-write in pagemap: file page when read, own copy once written", () => {
  using scratch = useScratch("cow-pagemap");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE).fill(0x33));
  using shared = mapFile(path);
  using m = mapFile(path, { mode: "private", access: "readwrite" });
  assert.deepEqual(m.pages().map((p) => p.state), ["absent", "absent"]);

  assert.equal(m.bytes[0], 0x33); // read fault: maps the page-cache page
  assert.equal(shared.bytes[0], 0x33);
  const read = m.pages()[0];
  assert.equal(read.present, true);
  assert.equal(read.fileOrShared, true, "after a read, bit 61: the file's page");
  assert.equal(read.state, "file");
  const sharedFrame = shared.pages()[0].frame;

  m.bytes[0] = 0x44; // write fault: copy-on-write
  const written = m.pages()[0];
  assert.equal(written.present, true);
  assert.equal(written.fileOrShared, false, "after the write, bit 61 is cleared");
  assert.equal(written.exclusive, true, "after the write, bit 56: mapped here only");
  assert.equal(written.state, "copied");
  assert.equal(written.index, 0);
  assert.equal(shared.bytes[0], 0x33, "the shared mapping still sees the file");

  if (read.frame === null) {
    console.log("  (frame numbers hidden: not root, frame checks skipped)");
    assert.equal(written.frame, null);
  } else {
    assert.equal(read.frame, sharedFrame, "private and shared read the same physical page");
    assert.notEqual(written.frame, null);
    assert.notEqual(written.frame, read.frame, "the write moved the page to a new frame");
    assert.equal(shared.pages()[0].frame, sharedFrame, "the file's page stayed where it was");
  }
  // Page 1 may be mapped too by read fault-around: only page 0 is pinned down.
  assert.ok(drawPages(m.pages(), { color: false, legend: false }).startsWith("page 0 │█"));
});

Deno.test("copy-on-write in smaps: Anonymous is one page per written page", () => {
  using scratch = useScratch("cow-smaps");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(8 * PAGE).fill(1));
  using m = mapFile(path, { mode: "private", access: "readwrite" });
  let sum = 0;
  for (let i = 0; i < 8; i++) sum += m.bytes[i * PAGE]; // read every page
  assert.equal(sum, 8);
  assert.equal(m.smaps().anonymous, 0, "reading copies nothing");
  const written = [1, 4, 5];
  for (const i of written) m.bytes[i * PAGE + 9] = 2;
  m.bytes[4 * PAGE + 100] = 3; // a second write to a copied page copies nothing more
  const entry = m.smaps();
  assert.equal(entry.anonymous, written.length * PAGE);
  assert.ok(entry.privateDirty >= written.length * PAGE, `privateDirty ${entry.privateDirty}`);
  assert.equal(entry.size, 8 * PAGE);
  assert.equal(entry.path, path);
  assert.ok(!entry.vmFlags.includes("sh"), `private: no "sh" in ${entry.vmFlags}`);
  assert.deepEqual(
    m.pages().map((p) => p.state),
    ["file", "copied", "file", "file", "copied", "copied", "file", "file"],
  );
});

Deno.test("an unwritten private page shows later changes to the file; a written one does not", () => {
  using scratch = useScratch("private-sees-file");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE));
  using m = mapFile(path, { mode: "private", access: "readwrite" });
  using writer = mapFile(path, { access: "readwrite" });
  assert.equal(m.bytes[0], 0);
  assert.equal(m.bytes[PAGE], 0);
  m.bytes[PAGE + 1] = 0x77; // page 1 is now this process's copy
  writer.bytes[0] = 0x55;
  writer.bytes[PAGE] = 0x66;
  assert.equal(m.bytes[0], 0x55, "page 0 was never written: it is still the file's page");
  assert.equal(m.bytes[PAGE], 0, "page 1 was copied before the file changed");
  assert.equal(m.bytes[PAGE + 1], 0x77);
});

Deno.test("discard() on a private file mapping drops the copy: the file shows again", () => {
  using scratch = useScratch("private-discard");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE).fill(0x42));
  using m = mapFile(path, { mode: "private", access: "readwrite" });
  m.bytes[0] = 1;
  m.bytes[PAGE] = 2;
  m.discard({ offset: 0, length: 1 });
  assert.equal(m.bytes[0], 0x42, "page 0 reads the file again");
  assert.equal(m.bytes[PAGE], 2, "page 1 kept its copy");
  assert.equal(m.smaps().anonymous, PAGE);
});
