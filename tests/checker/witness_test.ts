/**
 * The kernel's witness of write()s to a file (`witnessWrites`): inotify's
 * IN_MODIFY, raised by write() and truncate from any process, and never by
 * a store through a shared mapping, its msync or its munmap.
 */

import assert from "node:assert/strict";
import { witnessWrites } from "../../lib/checker/mod.ts";
import { mapFile } from "../../lib/mod.ts";

function scratchFile(): string {
  const dir = Deno.makeTempDirSync({ prefix: "witness-" });
  const path = `${dir}/file.txt`;
  Deno.writeTextFileSync(path, ".".repeat(64));
  return path;
}

Deno.test("witnessWrites: a store through a shared mapping, its msync and munmap are no write", () => {
  const path = scratchFile();
  try {
    using witness = witnessWrites(path);
    {
      using mapping = mapFile(path, { access: "readwrite" });
      mapping.bytes.set(new TextEncoder().encode("hello"), 0);
      mapping.sync();
    }
    assert.equal(Deno.readTextFileSync(path).slice(0, 5), "hello");
    assert.equal(witness.writes(), 0);
  } finally {
    Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("witnessWrites: write() and truncate, in this process or another, are seen", async () => {
  const path = scratchFile();
  try {
    using witness = witnessWrites(path);
    using file = Deno.openSync(path, { write: true });
    file.writeSync(new TextEncoder().encode("x"));
    assert.ok(witness.writes() >= 1, "a write() in this process");
    const before = witness.writes();
    const other = await new Deno.Command("dd", {
      args: [`of=${path}`, "conv=notrunc", "status=none"],
      stdin: "piped",
    }).spawn();
    const w = other.stdin.getWriter();
    await w.write(new TextEncoder().encode("from another process"));
    await w.close();
    assert.equal((await other.status).code, 0);
    assert.ok(witness.writes() > before, "a write() by another process");
    const again = witness.writes();
    Deno.truncateSync(path, 64);
    assert.ok(witness.writes() > again, "a truncate, even to the same size");
  } finally {
    Deno.removeSync(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});

Deno.test("witnessWrites: a file that is not there is a typed error", () => {
  assert.throws(() => witnessWrites("/nonexistent/mmap-lab/file"), (err: Error) => {
    assert.equal(err.name, "MmapError");
    assert.match(err.message, /inotify_add_watch/);
    assert.match(err.message, /ENOENT/);
    return true;
  });
});
