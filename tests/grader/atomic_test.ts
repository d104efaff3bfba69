/**
 * The crash-safe writer: a full disk in the middle of a write (simulated by
 * a write that stops half-way with ENOSPC) or a folder where the temporary
 * file cannot be made leaves the previous file intact, byte for byte, and no
 * temporary file behind.
 */

import assert from "node:assert/strict";
import { writeFileAtomic } from "../../lib/grader/atomic.ts";
import { freshDir, removeDir } from "./fixtures.ts";

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("atomic write: replaces the file whole, keeps its mode, leaves no temporary file", () => {
  const dir = freshDir("atomic");
  try {
    const path = `${dir}/class.json`;
    writeFileAtomic(path, "first\n");
    assert.equal(Deno.readTextFileSync(path), "first\n");
    Deno.chmodSync(path, 0o640);
    writeFileAtomic(path, new TextEncoder().encode("second\n"));
    assert.equal(Deno.readTextFileSync(path), "second\n");
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o640);
    assert.deepEqual(listing(dir), ["class.json"]);
  } finally {
    removeDir(dir);
  }
});

Deno.test("atomic write: a full disk half-way through leaves the previous file byte for byte", () => {
  const dir = freshDir("atomic-full");
  try {
    const path = `${dir}/class.json`;
    const previous = new Uint8Array(100_000).map((_, i) => (i * 7) % 251);
    Deno.writeFileSync(path, previous);
    const full = (file: Deno.FsFile, bytes: Uint8Array) => {
      file.writeSync(bytes.subarray(0, bytes.length >> 1));
      throw new Error("No space left on device (os error 28)");
    };
    assert.throws(
      () => writeFileAtomic(path, "x".repeat(200_000), { write: full }),
      /No space left on device/,
    );
    assert.deepEqual(Deno.readFileSync(path), previous);
    assert.deepEqual(listing(dir), ["class.json"], "the temporary file was removed");

    // A folder where the temporary file cannot be made (a file stands where the folder should).
    assert.throws(() => writeFileAtomic(`${path}/inner.json`, "x"));
    assert.deepEqual(Deno.readFileSync(path), previous);
  } finally {
    removeDir(dir);
  }
});
