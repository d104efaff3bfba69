/**
 * The kernel profile agrees with the kernel: each fact, probed again here in
 * another way, says the same. No test takes one kernel's number as a law.
 */
import assert from "node:assert/strict";
import { MAP, mapAnonymous, mapFile, MmapError, pagemap, PROT, sys } from "../../lib/mod.ts";
import {
  kernelLabel,
  kernelProfile,
  measureKernelProfile,
  profilePath,
} from "../../lib/profile.ts";
import { SCRATCH_ROOT, scratchRoot, useScratch } from "../helpers/scratch.ts";

Deno.test("profile: page size and frame-number visibility are what this process sees", () => {
  using scratch = useScratch("profile-facts");
  const p = measureKernelProfile({ scratchCandidates: [scratch.dir] });
  assert.equal(p.pageSize, sys.pageSize());
  using m = mapAnonymous(p.pageSize);
  m.bytes[0] = 1;
  assert.equal(pagemap(m.address, 1)[0].frame !== null, p.frameNumbersVisible);
  assert.equal(p.scratch.dir, scratch.dir);
  assert.ok(p.costMs >= 0);
  assert.match(kernelLabel(p), new RegExp(p.release.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
});

Deno.test("profile: fault-around is what one read fault of a cached file maps here", () => {
  using scratch = useScratch("profile-fault-around");
  const p = measureKernelProfile({ scratchCandidates: [scratch.dir] });
  // A file written one page per write(), as the profile writes its own, then read at one byte.
  const pages = 128;
  const path = scratch.file("cached.bin");
  using file = Deno.openSync(path, { write: true, create: true });
  for (let i = 0; i < pages; i++) file.writeSync(new Uint8Array(p.pageSize).fill(1));
  using m = mapFile(path);
  void m.bytes[(pages / 2 + 1) * p.pageSize];
  const mapped = pagemap(m.address, pages).filter((page) => page.present).length;
  assert.equal(mapped, Math.min(pages, p.faultAround.smallWrites));
});

Deno.test("profile: msync cleans pages in the scratch directory exactly when the profile says so", () => {
  using scratch = useScratch("profile-msync");
  const p = measureKernelProfile({ scratchCandidates: [scratch.dir] });
  const path = scratch.file("page.bin");
  Deno.writeFileSync(path, new Uint8Array(p.pageSize));
  using m = mapFile(path, { access: "readwrite" });
  m.bytes[0] = 7;
  m.sync();
  const s = m.smaps();
  assert.equal(s.privateDirty + s.sharedDirty === 0, p.scratch.msyncCleans);
});

Deno.test("profile: a candidate that cannot be written is passed over, and the reason kept", () => {
  const p = measureKernelProfile({
    scratchCandidates: ["/proc/mmap-lab-not-writable", scratchRoot()],
  });
  assert.equal(p.scratch.dir, SCRATCH_ROOT);
  assert.match(p.scratch.reason ?? "", /\/proc\/mmap-lab-not-writable cannot be written/);
  assert.throws(
    () => measureKernelProfile({ scratchCandidates: ["/proc/mmap-lab-not-writable"] }),
    /no writable scratch directory/,
  );
});

Deno.test("profile: kept per release, boot and user in .mmap-lab/, measured again with fresh or when stale", () => {
  using scratch = useScratch("profile-cache");
  const root = scratch.dir; // a project root of its own: the cache is <root>/.mmap-lab/
  const first = kernelProfile(root, { fresh: true });
  const saved = JSON.parse(Deno.readTextFileSync(profilePath(root)));
  assert.equal(saved.measuredAt, first.measuredAt);
  assert.equal(kernelProfile(root).measuredAt, first.measuredAt, "the second call reads it");

  // A saved profile of this kernel, boot and user is read as it is; one of another boot is
  // measured again. (New roots, so no copy kept in memory stands in for the file.)
  const save = (dir: string, changes: Record<string, unknown>) => {
    Deno.mkdirSync(`${dir}/.mmap-lab`, { recursive: true });
    const scratchDir = { ...saved.scratch, dir: `${dir}/.mmap-lab/scratch` };
    Deno.writeTextFileSync(
      profilePath(dir),
      JSON.stringify({ ...saved, scratch: scratchDir, ...changes }),
    );
  };
  save(`${root}/same`, { measuredAt: "kept" });
  assert.equal(kernelProfile(`${root}/same`).measuredAt, "kept");
  save(`${root}/stale`, { measuredAt: "kept", bootId: "another boot" });
  const again = kernelProfile(`${root}/stale`);
  assert.notEqual(again.measuredAt, "kept");
  assert.equal(again.bootId, first.bootId);
  assert.equal(
    JSON.parse(Deno.readTextFileSync(profilePath(`${root}/stale`))).bootId,
    again.bootId,
  );
});

Deno.test("profile: executable anonymous memory is allowed exactly when mprotect(PROT_READ|PROT_EXEC) succeeds here", () => {
  using scratch = useScratch("profile-exec");
  const p = measureKernelProfile({ scratchCandidates: [scratch.dir] });
  // Probed again another way: a raw mapping, and the kernel's own answer to mprotect.
  const ps = sys.pageSize();
  const ptr = sys.mmap(null, ps, PROT.READ | PROT.WRITE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  let allowed: boolean | null;
  try {
    sys.mprotect(ptr, ps, PROT.READ | PROT.EXEC);
    allowed = true;
  } catch (err) {
    allowed = err instanceof MmapError && ["EACCES", "EPERM"].includes(err.code) ? false : null;
  } finally {
    sys.munmap(ptr, ps);
  }
  assert.equal(p.execAnonymous, allowed);
  assert.equal(kernelLabel(p).includes("no executable anonymous memory"), allowed === false);
});

Deno.test("profile: one saved before execAnonymous was measured still loads, and gains the fact", () => {
  using scratch = useScratch("profile-old");
  const root = scratch.dir;
  const first = kernelProfile(root, { fresh: true });
  const old: Record<string, unknown> = { ...first, measuredAt: "old" };
  delete old.execAnonymous;
  const dir = `${root}/old`;
  Deno.mkdirSync(`${dir}/.mmap-lab`, { recursive: true });
  Deno.writeTextFileSync(
    profilePath(dir),
    JSON.stringify({ ...old, scratch: { ...first.scratch, dir: `${dir}/.mmap-lab/scratch` } }),
  );
  const loaded = kernelProfile(dir);
  assert.equal(loaded.measuredAt, "old", "the rest is read as it was, not measured again");
  assert.equal(loaded.execAnonymous, first.execAnonymous);
  assert.equal(
    JSON.parse(Deno.readTextFileSync(profilePath(dir))).execAnonymous,
    first.execAnonymous,
  );
});
