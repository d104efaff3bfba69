/**
 * Anonymous memory, residency, discard, advice and protection, and the
 * faults that a wrong protection or a page past end of file cause (in a
 * child process: Deno cannot catch SIGSEGV or SIGBUS).
 */

import assert from "node:assert/strict";
import {
  faultCounts,
  MAP,
  mapAnonymous,
  mapFile,
  Mapping,
  pagemap,
  pageState,
  PROT,
  recordCalls,
  smaps,
  sys,
} from "../../lib/mod.ts";
import { PROJECT_ROOT, runChild, useScratch, writeSynced } from "../helpers/scratch.ts";
import { kernelProfile } from "../../lib/profile.ts";

const PAGE = sys.pageSize();

Deno.test("anonymous memory is zero-filled and given only when touched", () => {
  using m = mapAnonymous(16 * PAGE);
  assert.equal(m.source.path, undefined);
  assert.equal(m.source.mode, "private");
  assert.equal(m.access, "readwrite");
  assert.equal(m.length, 16 * PAGE);
  assert.deepEqual(m.pages().map((p) => p.present), new Array(16).fill(false));
  assert.ok(m.bytes.every((b) => b === 0), "every byte reads 0");
  m.bytes[3 * PAGE] = 1;
  assert.equal(m.pages()[3].state, "own");
  assert.equal(m.bytes[3 * PAGE], 1);
});

Deno.test("a length that is not a page multiple still maps whole pages", () => {
  using m = mapAnonymous(PAGE + 1);
  assert.equal(m.length, PAGE + 1);
  assert.equal(m.bytes.length, PAGE + 1);
  assert.equal(m.pageCount, 2);
  assert.equal(m.residency().length, 2);
  m.bytes[PAGE] = 9;
  assert.deepEqual(m.residency(), [false, true]);
});

Deno.test("residency: untouched pages false, written pages true", () => {
  using m = mapAnonymous(5 * PAGE);
  assert.deepEqual(m.residency(), [false, false, false, false, false]);
  m.bytes[PAGE] = 1;
  m.bytes[4 * PAGE + 17] = 1;
  assert.deepEqual(m.residency(), [false, true, false, false, true]);
});

/**
 * The least number of minor faults `touch` cost over a few trials, each on a
 * fresh mapping from `make` (made outside the count: MAP_POPULATE's own
 * pre-faulting counts as faults too). The counter is process-wide
 * (getrusage), so Deno's other threads can only add faults: the least of
 * several trials is the cost of `touch` itself.
 */
function leastFaults(trials: number, make: () => Mapping, touch: (bytes: Uint8Array) => void) {
  let least = Infinity;
  for (let i = 0; i < trials; i++) {
    using m = make();
    const bytes = m.bytes;
    const before = faultCounts().minor;
    touch(bytes);
    least = Math.min(least, faultCounts().minor - before);
  }
  return least;
}

const touchPages = (pages: number) => (bytes: Uint8Array) => {
  for (let i = 0; i < pages; i++) bytes[i * PAGE] = 1;
};

Deno.test("populate: every page is present before the first touch, so touching costs no fault", () => {
  using m = mapAnonymous(4 * PAGE, { populate: true });
  assert.deepEqual(m.residency(), [true, true, true, true]);
  const populated = leastFaults(
    6,
    () => mapAnonymous(16 * PAGE, { populate: true }),
    touchPages(16),
  );
  assert.equal(populated, 0);
});

Deno.test("first touch of each anonymous page costs one minor fault", () => {
  assert.equal(leastFaults(12, () => mapAnonymous(32 * PAGE), touchPages(32)), 32);
});

Deno.test("discard() on private anonymous memory gives zeros back and frees the pages", () => {
  using m = mapAnonymous(3 * PAGE);
  m.bytes.fill(0xab);
  assert.deepEqual(m.residency(), [true, true, true]);
  m.discard({ offset: PAGE + 10, length: 1 }); // aligned out to page 1 only
  assert.deepEqual(m.residency(), [true, false, true]);
  assert.equal(m.bytes[PAGE + 10], 0);
  assert.ok(m.bytes.subarray(PAGE, 2 * PAGE).every((b) => b === 0), "page 1 is all zeros");
  assert.equal(m.bytes[PAGE - 1], 0xab, "page 0 kept its data");
  assert.equal(m.bytes[2 * PAGE], 0xab, "page 2 kept its data");
  m.discard();
  assert.ok(m.bytes.every((b) => b === 0));
});

Deno.test("discard() on a shared file mapping keeps the data in the file", () => {
  using scratch = useScratch("discard-shared");
  const path = scratch.file("data.bin");
  writeSynced(path, new Uint8Array(2 * PAGE));
  using m = mapFile(path, { access: "readwrite" });
  m.bytes[5] = 0x5e;
  m.discard();
  assert.equal(m.bytes[5], 0x5e);
  assert.equal(Deno.readFileSync(path)[5], 0x5e);
});

Deno.test("advise('sequential') shows sr in VmFlags, advise('random') shows rr", () => {
  using m = mapAnonymous(4 * PAGE);
  m.bytes[0] = 1;
  assert.ok(!m.smaps().vmFlags.includes("sr"));
  m.advise("sequential");
  const seq = m.smaps().vmFlags;
  assert.ok(seq.includes("sr"), `sr in ${seq}`);
  assert.ok(!seq.includes("rr"), `no rr in ${seq}`);
  m.advise("random");
  const rnd = m.smaps().vmFlags;
  assert.ok(rnd.includes("rr"), `rr in ${rnd}`);
  assert.ok(!rnd.includes("sr"), `no sr in ${rnd}`);
  m.advise("normal");
  const normal = m.smaps().vmFlags;
  assert.ok(!normal.includes("rr") && !normal.includes("sr"), `neither in ${normal}`);
  assert.equal(m.bytes[0], 1, "advice never changes the data");
});

Deno.test("advise() with a range aligns it out to pages and passes the advice number", () => {
  using m = mapAnonymous(4 * PAGE);
  const { calls } = recordCalls(() => {
    m.advise("willneed", { offset: PAGE + 1, length: PAGE });
    m.advise("dontfork");
    m.advise("dofork");
  });
  const hex = (page: number) => "0x" + (m.address + BigInt(page * PAGE)).toString(16);
  assert.deepEqual(calls.map((c) => [c.call, c.args]), [
    ["madvise", { addr: hex(1), length: 2 * PAGE, advice: 3 }],
    ["madvise", { addr: hex(0), length: 4 * PAGE, advice: 10 }],
    ["madvise", { addr: hex(0), length: 4 * PAGE, advice: 11 }],
  ]);
});

/**
 * A private anonymous Mapping of `pages` pages between two PROT_NONE guard
 * pages, so the kernel cannot merge it with a neighbour (see the smaps bug
 * below). Disposing of it unmaps the guards too.
 */
function isolatedAnonymous(pages: number): Mapping & Disposable {
  const total = (pages + 2) * PAGE;
  const base = sys.mmap(null, total, PROT.NONE, MAP.PRIVATE | MAP.ANONYMOUS, -1, 0);
  const inner = Deno.UnsafePointer.offset(base, PAGE)!;
  sys.mprotect(inner, pages * PAGE, PROT.READ | PROT.WRITE);
  const m = new Mapping(inner, pages * PAGE, "readwrite", { mode: "private", offset: 0 });
  const unmap = m.unmap.bind(m);
  m.unmap = () => {
    if (m.closed) return;
    unmap();
    sys.munmap(base, PAGE);
    sys.munmap(Deno.UnsafePointer.offset(base, (pages + 1) * PAGE)!, PAGE);
  };
  return m;
}

Deno.test("protect(): access and /proc agree; smaps of a split area sums its parts", () => {
  using m = isolatedAnonymous(3);
  m.bytes.fill(1);
  const whole = m.smaps();
  assert.equal(whole.start, m.address);
  assert.equal(whole.size, 3 * PAGE);
  assert.deepEqual(whole.vmFlags.filter((f) => f === "rd" || f === "wr"), ["rd", "wr"]);
  m.protect("read");
  assert.equal(m.access, "read");
  const flags = m.smaps().vmFlags;
  assert.ok(flags.includes("rd") && !flags.includes("wr"), `read-only: ${flags}`);
  assert.equal(m.bytes[2 * PAGE], 1, "reading is still fine");
  m.protect("readwrite");
  // Split the area by hand: the middle page read-only.
  sys.mprotect(sys.pointerAt(m.address + BigInt(PAGE)), PAGE, PROT.READ);
  const parts = smaps("self", m);
  assert.deepEqual(parts.map((p) => p.perms), ["rw-p", "r--p", "rw-p"]);
  const total = m.smaps();
  assert.equal(total.start, m.address);
  assert.equal(total.end, m.address + BigInt(3 * PAGE));
  assert.equal(total.size, 3 * PAGE, "the three parts' Size summed");
  assert.equal(total.rss, 3 * PAGE, "the three parts' Rss summed");
  assert.equal(total.anonymous, 3 * PAGE);
  assert.equal(total.fields.Rss, 3 * PAGE);
});

// The kernel merges adjacent private anonymous mappings with the same flags
// into one area (VMA), and smaps counts per area. Mapping.smaps() says so:
// `exact` is false and start/end show the whole area.
Deno.test("Mapping.smaps() says when the kernel merged it with a neighbour (exact: false)", () => {
  using a = mapAnonymous(PAGE);
  assert.equal(a.smaps().exact, true);
  assert.equal(a.smaps().start, a.address);
  using b = mapAnonymous(PAGE);
  a.bytes[0] = 1;
  b.bytes[0] = 1;
  const entry = a.smaps();
  if (entry.exact) {
    // Not merged (the kernel placed b elsewhere): then the numbers are a's alone.
    assert.equal(entry.size, PAGE);
    assert.equal(entry.rss, PAGE);
  } else {
    assert.ok(entry.start <= a.address && entry.end >= a.address + BigInt(PAGE));
    assert.ok(entry.size > PAGE);
    assert.equal(a.pages().filter((p) => p.present).length, 1, "pages() stays per mapping");
  }
});

Deno.test("pagemap and pageState: a read-only touch of private anonymous memory is what the kernel profile says (the zero page, or a page of its own)", () => {
  const { zeroPage } = kernelProfile(PROJECT_ROOT);
  using m = mapAnonymous(2 * PAGE);
  try {
    m.advise("nohugepage");
  } catch { /* no THP here */ }
  assert.equal(m.bytes[0], 0); // read: the zero page, or (some kernels) a zeroed page of its own
  m.bytes[PAGE] = 1; // write: a page of its own
  const [read, written] = pagemap(m.address, 2);
  assert.equal(read.present, true);
  assert.equal(read.exclusive, !zeroPage, `the profile says zeroPage: ${zeroPage}`);
  assert.equal(pageState(read, "anonymous-private"), zeroPage ? "zero" : "own");
  assert.equal(written.exclusive, true);
  assert.equal(pageState(written, "anonymous-private"), "own");
  assert.deepEqual(m.pages().map((p) => p.state), [zeroPage ? "zero" : "own", "own"]);
});

Deno.test("pageState names a page from its pagemap bits alone", () => {
  const page = {
    present: true,
    swapped: false,
    fileOrShared: false,
    exclusive: false,
    softDirty: false,
    frame: null,
  };
  assert.equal(pageState(page, "anonymous-private"), "zero");
  assert.equal(pageState({ ...page, exclusive: true }, "anonymous-private"), "own");
  assert.equal(pageState({ ...page, present: false }, "file-shared"), "absent");
  assert.equal(pageState({ ...page, swapped: true }, "file-private"), "swapped");
  assert.equal(pageState(page, "file-private"), "copied");
  assert.equal(pageState({ ...page, fileOrShared: true }, "file-private"), "file");
});

Deno.test("faultCounts of another pid (from /proc/PID/stat) matches getrusage", () => {
  const a = faultCounts("self");
  const b = faultCounts(Deno.pid);
  const c = faultCounts("self");
  assert.ok(a.minor > 0);
  assert.ok(a.minor <= b.minor && b.minor <= c.minor, `${a.minor} <= ${b.minor} <= ${c.minor}`);
  assert.ok(a.major <= b.major && b.major <= c.major);
});

const FAULTING = `
  import { mapAnonymous, mapFile } from "__LIB__";
  const [what, path] = Deno.args;
  console.log("start");
  if (what === "write-read-only") {
    const m = mapAnonymous(4096, { access: "read" });
    m.bytes[0] = 1;
  } else if (what === "read-none") {
    const m = mapAnonymous(4096);
    m.protect("none");
    console.log(m.bytes[0]);
  } else if (what === "write-after-protect-read") {
    const m = mapAnonymous(4096);
    m.bytes[0] = 1;
    m.protect("read");
    console.log(m.bytes[0]);
    m.bytes[0] = 2;
  } else if (what === "past-eof") {
    const m = mapFile(path, { length: 2 * 4096, allowPastEnd: true });
    console.log(m.bytes[100]);
    console.log(m.bytes[4096]);
  } else if (what === "fine") {
    const m = mapAnonymous(4096);
    m.bytes[0] = 1;
    m.protect("read");
    console.log(m.bytes[0]);
  }
  console.log("survived");
`;

Deno.test("protection is enforced by the kernel: SIGSEGV in a child, never a silent write", async () => {
  using scratch = useScratch("sigsegv");
  for (const what of ["write-read-only", "read-none", "write-after-protect-read"]) {
    const result = await runChild({ dir: scratch.dir, script: FAULTING, args: [what] });
    assert.equal(result.signal, "SIGSEGV", `${what}: ${result.stdout} ${result.stderr}`);
    assert.ok(!result.stdout.includes("survived"), what);
    assert.ok(result.stdout.startsWith("start"), what);
  }
  const fine = await runChild({ dir: scratch.dir, script: FAULTING, args: ["fine"] });
  assert.equal(fine.code, 0, fine.stderr);
  assert.deepEqual(fine.stdout.trim().split("\n"), ["start", "1", "survived"]);
});

Deno.test("touching a page wholly past end of file (allowPastEnd) raises SIGBUS", async () => {
  if (PAGE !== 4096) return; // the child script assumes 4 KiB pages
  using scratch = useScratch("sigbus");
  const path = scratch.file("one-page.bin");
  writeSynced(path, new Uint8Array(PAGE).fill(7));
  const result = await runChild({ dir: scratch.dir, script: FAULTING, args: ["past-eof", path] });
  assert.equal(result.signal, "SIGBUS", result.stderr);
  assert.deepEqual(result.stdout.trim().split("\n"), ["start", "7"]);
});

Deno.test('mapAnonymous: mode "shared" is MAP_SHARED; the deprecated shared flag still works', () => {
  const flagsOf = (options: Parameters<typeof mapAnonymous>[1]) => {
    const { calls } = recordCalls(() => mapAnonymous(PAGE, options).unmap());
    const mmap = calls.find((c) => c.call === "mmap")!;
    return Number(mmap.args.flags) & (MAP.SHARED | MAP.PRIVATE | MAP.ANONYMOUS);
  };
  const SHARED = MAP.SHARED | MAP.ANONYMOUS;
  const PRIVATE = MAP.PRIVATE | MAP.ANONYMOUS;
  assert.equal(flagsOf({ mode: "shared" }), SHARED);
  assert.equal(flagsOf({ mode: "private" }), PRIVATE);
  assert.equal(flagsOf({}), PRIVATE);
  assert.equal(flagsOf({ shared: true }), SHARED);
  assert.equal(flagsOf({ shared: false }), PRIVATE);
  assert.equal(flagsOf({ mode: "shared", shared: true }), SHARED);
  using m = mapAnonymous(PAGE, { mode: "shared" });
  assert.equal(m.source.mode, "shared");
  assert.deepEqual(m.pages().map((p) => p.state), ["absent"]);
});
