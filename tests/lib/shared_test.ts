/**
 * MAP_SHARED: writes reach the page cache at once, so every other mapping and
 * every other process sees them without msync, and they outlive the writer.
 */

import assert from "node:assert/strict";
import { mapFile, mapSharedMemory, procIo, sys } from "../../lib/mod.ts";
import { nonce, runChild, toHex, useScratch, writeSynced } from "../helpers/scratch.ts";

const PAGE = sys.pageSize();

Deno.test("a shared write is seen at once by a second mapping of the same file", () => {
  using scratch = useScratch("two-mappings");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE));
  using writer = mapFile(path, { access: "readwrite" });
  using reader = mapFile(path);
  assert.notEqual(writer.address, reader.address);
  const secret = nonce();
  writer.bytes.set(secret, PAGE + 10);
  assert.deepEqual(reader.bytes.slice(PAGE + 10, PAGE + 10 + secret.length), secret);
  // And a second shared read-write mapping at an offset sees it at the shifted place.
  using view = mapFile(path, { access: "readwrite", offset: PAGE, length: PAGE });
  assert.equal(view.source.offset, PAGE);
  assert.deepEqual(view.bytes.slice(10, 10 + secret.length), secret);
  view.bytes[0] = 0xee;
  assert.equal(writer.bytes[PAGE], 0xee);
  assert.equal(reader.bytes[PAGE], 0xee);
});

Deno.test("a shared write is seen by another process's read() without sync", async () => {
  using scratch = useScratch("seen-by-child");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(4 * PAGE));
  using m = mapFile(path, { access: "readwrite" });
  const secret = nonce(32);
  m.bytes.set(secret, 3 * PAGE + 7); // no sync()
  const child = await runChild({
    dir: scratch.dir,
    script: `
      const bytes = Deno.readFileSync(Deno.args[0]);
      const at = Number(Deno.args[1]);
      const slice = bytes.subarray(at, at + 32);
      console.log(Array.from(slice, (b) => b.toString(16).padStart(2, "0")).join(""));
    `,
    args: [path, String(3 * PAGE + 7)],
  });
  assert.equal(child.code, 0, child.stderr);
  assert.equal(child.stdout.trim(), toHex(secret));
  // And this process's own read() sees it too, through the page cache.
  assert.deepEqual(Deno.readFileSync(path).subarray(3 * PAGE + 7, 3 * PAGE + 39), secret);
});

Deno.test("shared writes stay in the file after unmap, without sync", () => {
  using scratch = useScratch("persist-unmap");
  const path = scratch.file("data.bin");
  writeSynced(path, new TextEncoder().encode("hello, world\n"));
  {
    using m = mapFile(path, { access: "readwrite" });
    m.bytes.set(new TextEncoder().encode("HELLO"), 0);
  }
  assert.equal(Deno.readTextFileSync(path), "HELLO, world\n");
  assert.equal(Deno.statSync(path).size, 13, "the file's size is unchanged");
});

Deno.test("a child that writes through a shared mapping and exits without msync loses nothing", async () => {
  using scratch = useScratch("child-exit");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE));
  const secret = nonce(24);
  const child = await runChild({
    dir: scratch.dir,
    script: `
      import { mapFile } from "__LIB__";
      const [path, hex] = Deno.args;
      const m = mapFile(path, { access: "readwrite" });
      const bytes = new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
      m.bytes.set(bytes, ${PAGE + 1});
      Deno.exit(0); // no sync(), no unmap()
    `,
    args: [path, toHex(secret)],
  });
  assert.equal(child.code, 0, child.stderr);
  assert.deepEqual(Deno.readFileSync(path).subarray(PAGE + 1, PAGE + 1 + 24), secret);
});

Deno.test("a child killed by SIGKILL right after a shared write loses nothing", async () => {
  using scratch = useScratch("child-killed");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(PAGE));
  const secret = nonce(16);
  const child = await runChild({
    dir: scratch.dir,
    flags: ["--allow-run"],
    script: `
      import { mapFile } from "__LIB__";
      const [path, hex] = Deno.args;
      const m = mapFile(path, { access: "readwrite" });
      m.bytes.set(new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16))), 100);
      Deno.kill(Deno.pid, "SIGKILL");
    `,
    args: [path, toHex(secret)],
  });
  assert.equal(child.signal, "SIGKILL", child.stderr);
  assert.deepEqual(Deno.readFileSync(path).subarray(100, 116), secret);
});

Deno.test("mapSharedMemory: a child maps shm.path, sees the parent's bytes and writes back", async () => {
  using scratch = useScratch("shm-child");
  using shm = mapSharedMemory(2 * PAGE, "shared-test");
  assert.equal(shm.length, 2 * PAGE);
  assert.ok(shm.bytes.every((b) => b === 0), "new shared memory is zero-filled");
  const fromParent = nonce(16);
  const fromChild = nonce(16);
  shm.bytes.set(fromParent, 0);
  const child = await runChild({
    dir: scratch.dir,
    script: `
      import { mapFile } from "__LIB__";
      const [path, hex] = Deno.args;
      const hexOf = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
      using m = mapFile(path, { access: "readwrite" });
      console.log(m.length, hexOf(m.bytes.slice(0, 16)));
      m.bytes.set(new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16))), ${PAGE + 64});
    `,
    args: [shm.path, toHex(fromChild)],
  });
  assert.equal(child.code, 0, child.stderr);
  assert.equal(child.stdout.trim(), `${2 * PAGE} ${toHex(fromParent)}`);
  assert.deepEqual(shm.bytes.slice(PAGE + 64, PAGE + 80), fromChild);
  assert.ok(shm.smaps().vmFlags.includes("sh"), "a shared mapping: VmFlags has sh");
  assert.equal(shm.pages()[1].state, "shared");
});

Deno.test("reading a file through a mapping does not go through read(): procIo rchar", () => {
  using scratch = useScratch("proc-io");
  const path = scratch.file("data.bin");
  const size = 256 * PAGE;
  writeSynced(path, new Uint8Array(size).fill(1));
  using m = mapFile(path);
  const before = procIo("self");
  let sum = 0;
  for (let i = 0; i < size; i += 512) sum += m.bytes[i];
  const mid = procIo("self");
  assert.equal(sum, size / 512);
  assert.ok(mid.rchar - before.rchar < size / 4, `mapping scan added ${mid.rchar - before.rchar}`);
  Deno.readFileSync(path);
  const after = procIo("self");
  assert.ok(after.rchar - mid.rchar >= size, `read() added ${after.rchar - mid.rchar}`);
  assert.ok(after.syscr > mid.syscr);
});
