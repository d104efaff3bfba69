/**
 * Checks of lab 04: private anonymous memory (lazy, zero page, MADV_DONTNEED)
 * seen in pagemap and smaps; shared memory without a file (memfd) seen from
 * other processes and in /proc/PID/maps and fdinfo; predictions.
 *
 * Everything the checker sees of the kernel is read by a child of its own,
 * `inspect.ts`, which never runs student code: the runner needs no FFI
 * (Deno reads nothing under /proc/PID without it), and never maps a path a
 * student's code published.
 */
import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildHandle,
  type ChildResult,
  defineChecks,
  diagnoseSegv,
  formatInvocation,
  hasFlag,
  kB,
  pageList,
  requirePrediction,
  said,
  succeeded,
  threadStat,
} from "../../../lib/checker/mod.ts";
import type {
  AttachParams,
  InspectParams,
  InspectResult,
  Look,
  MapsLine,
  OwnerParams,
  PageLook,
  PrivateParams,
} from "./shared.ts";

/** Asks the inspector child; a failure there is the checker's, not the student's. */
async function inspect(ctx: CheckContext, params: InspectParams): Promise<InspectResult> {
  const r = await ctx.run("inspect.ts", params, { record: false });
  if (r.outcome !== "ok") {
    throw new Error(`the inspector failed: ${r.error?.message ?? r.outcome} ${r.stderr}`);
  }
  return r.value as InspectResult;
}

async function pageSize(ctx: CheckContext): Promise<number> {
  return await ctx.once("pageSize", async () => (await inspect(ctx, {})).pageSize);
}

// ---------------------------------------------------------------------------
// Private memory: one child, four checkpoints.

interface Where {
  address: string;
  pages: number;
}

interface PrivateValue {
  address: string;
  length: number;
  pageSize: number;
  nonZero: number;
  /** Minor faults of the reading loop, and of the writes, counted by the drive (RUSAGE_THREAD). */
  readFaults: number;
  writeFaults: number;
  nonZeroReleased: number;
  readBack: number[];
  predictions: Record<string, unknown>;
}

interface PrivateRun {
  params: PrivateParams;
  pageSize: number;
  looks: Record<string, Look>;
  result: ChildResult;
}

function distinct(ctx: CheckContext, count: number, from: number[]): number[] {
  const pool = [...from];
  const out: number[] = [];
  while (out.length < count && pool.length) {
    out.push(pool.splice(ctx.random.int(0, pool.length - 1), 1)[0]);
  }
  return out;
}

async function privateRun(ctx: CheckContext): Promise<PrivateRun> {
  return await ctx.once<PrivateRun>("private", async () => {
    const ps = await pageSize(ctx);
    const pageCount = ctx.random.int(24, 48);
    const size = pageCount * ps - ctx.random.int(0, ps - 1);
    const full = pageCount - 1; // whole pages: 0 … full - 1
    const count = ctx.random.int(3, 8);
    // A margin of two whole pages after the range: an off-by-one release stays inside the memory.
    const first = ctx.random.int(0, full - count - 2);
    const inRange = Array.from({ length: count }, (_, i) => first + i);
    const outside = Array.from({ length: full }, (_, i) => i).filter((p) => !inRange.includes(p));
    const written = [
      ...distinct(ctx, ctx.random.int(1, 2), inRange),
      ...distinct(ctx, ctx.random.int(3, 6), outside),
    ].sort((a, b) => a - b);
    const params: PrivateParams = {
      size,
      writes: written.map((page) => ({
        page,
        offset: ctx.random.int(0, ps - 1),
        value: ctx.random.int(1, 255),
      })),
      release: { first, count },
    };
    const child = ctx.spawn("private.ts", params);
    const looks: Record<string, Look> = {};
    for (;;) {
      const cp = await child.checkpoint();
      if (!cp) break;
      // The fault count first, the instant the child stops: the inspector takes a while to start.
      const minorFaults = mainThreadMinorFaults(child.pid);
      const seen = await inspect(ctx, { look: { pid: child.pid, ...(cp.data as Where) } });
      looks[cp.name] = { ...seen.look!, minorFaults };
      await child.resume();
    }
    return { params, pageSize: ps, looks, result: await child.result() };
  });
}

// ---------------------------------------------------------------------------
// Shared memory: the creator (owner.ts), the inspector (an independent third process), and
// another process running the student's attachShared (attach.ts).

interface OwnerWhere {
  pid: number;
  path: string;
  fd: number;
  address: string;
  pages: number;
}

interface AttachValue {
  address: string;
  sawHello: string;
  afterClose: string;
  afterRelease?: string;
  releaseError?: string;
}

/** What the creator's memory is, from its /proc/PID/maps line. */
type Backing = "memfd" | "shm" | "shared-anonymous" | "disk-file" | "unknown";

function backingOf(line: MapsLine | undefined): Backing {
  if (!line) return "unknown";
  if (line.path.startsWith("/memfd:")) return "memfd";
  if (line.path.startsWith("/dev/shm/")) return "shm";
  if (line.path.startsWith("/dev/zero") || line.path.startsWith("/SYSV")) return "shared-anonymous";
  if (line.path.startsWith("/")) return "disk-file";
  return "unknown";
}

interface SharedRun {
  params: OwnerParams;
  /** The texts written by: the creator, the inspector, the other process. */
  texts: { hello: string; checker: string; other: string };
  created?: OwnerWhere;
  /** The creator's maps line for its shared memory, at "created". */
  line?: MapsLine;
  backing?: Backing;
  /** Descriptors of the creator on the memory's inode, at "created" and at "closed". */
  fdsAtCreate?: number[];
  fdsAtClose?: number[];
  /** The creator's maps lines on the memory's inode at "closed". */
  mappedAtClose?: MapsLine[];
  /** Why the published path was not opened (a path no other process should open). */
  refused?: "self" | "other";
  /** What the inspector read through its own mapping of the path, or why it could not. */
  checkerSaw?: string;
  checkerError?: string;
  /** /dev/shm file still there after closeShared. */
  shmLeft?: boolean;
  attach?: { params: AttachParams; result: ChildResult };
  owner: ChildResult;
}

function refusal(path: string, pid: number): "self" | "other" | undefined {
  if (/^\/proc\/(self|thread-self)\//.test(path)) return "self";
  if (new RegExp(`^/proc/${pid}/fd/\\d+$`).test(path)) return undefined;
  if (/^\/dev\/shm\/[^/]+$/.test(path)) return undefined;
  return "other";
}

async function sharedRun(ctx: CheckContext): Promise<SharedRun> {
  return await ctx.once<SharedRun>("shared", async () => {
    const ps = await pageSize(ctx);
    const size = ctx.random.int(3, 6) * ps; // whole pages: release() may cover all of it
    const texts = {
      hello: `hello-from-creator-${ctx.random.nonce(10)}`,
      checker: `reply-from-checker-${ctx.random.nonce(10)}`,
      other: `reply-from-attach-${ctx.random.nonce(10)}`,
    };
    // Three places on three different pages.
    const spots = distinct(ctx, 3, Array.from({ length: size / ps }, (_, i) => i))
      .map((page) => page * ps + ctx.random.int(0, ps - 64));
    const params: OwnerParams = {
      size,
      hello: { offset: spots[0], text: texts.hello },
      replies: [
        { offset: spots[1], length: texts.checker.length },
        { offset: spots[2], length: texts.other.length },
      ],
    };
    const owner = ctx.spawn("owner.ts", params, { timeoutMs: 10_000 });
    const run: SharedRun = { params, texts, owner: undefined as unknown as ChildResult };
    let other: ChildHandle | undefined;
    try {
      const created = await owner.checkpoint();
      if (!created) return { ...run, owner: await owner.result() };
      const where = created.data as OwnerWhere;
      run.created = where;
      const area = await inspect(ctx, { area: { pid: owner.pid, address: where.address } });
      run.line = area.line;
      run.fdsAtCreate = area.fds ?? [];
      run.backing = backingOf(run.line);
      run.refused = refusal(where.path, owner.pid);
      let attached = false;
      if (!run.refused && (run.backing === "memfd" || run.backing === "shm")) {
        // A third process, not running student code, maps the published path.
        const seen = await inspect(ctx, {
          map: {
            path: where.path,
            read: { offset: params.hello.offset, length: texts.hello.length },
            write: { offset: params.replies[0].offset, text: texts.checker },
          },
        });
        run.checkerSaw = seen.saw;
        run.checkerError = seen.mapError;
        const attachParams: AttachParams = {
          path: where.path,
          hello: { offset: params.hello.offset, length: texts.hello.length },
          reply: { offset: params.replies[1].offset, text: texts.other },
        };
        other = ctx.spawn("attach.ts", attachParams, { timeoutMs: 10_000 });
        run.attach = { params: attachParams, result: undefined as unknown as ChildResult };
        attached = (await other.checkpoint()) !== undefined; // mapped, read, wrote; holds on
      }
      await owner.resume(); // the creator reads the replies
      if (await owner.checkpoint()) { // "seen"
        await owner.resume(); // closeShared
        const closed = await owner.checkpoint();
        if (closed && run.line) {
          const after = await inspect(ctx, {
            inode: { pid: owner.pid, inode: run.line.inode },
            exists: run.backing === "shm" ? run.line.path : undefined,
          });
          run.fdsAtClose = after.fds;
          run.mappedAtClose = after.mapped;
          run.shmLeft = after.exists;
        }
        if (closed) await owner.resume();
      }
      run.owner = await owner.result();
      if (other && run.attach) {
        if (attached) await other.resume(); // reads again, release(), reads again
        run.attach.result = await other.result();
      }
      return run;
    } finally {
      other?.kill();
      owner.kill();
    }
  });
}

// ---------------------------------------------------------------------------
// Helpers for messages.

function mmapCalls(result: ChildResult): CallRecord[] {
  return succeeded(result.calls, "mmap");
}

function num(call: CallRecord, arg: string): number {
  const v = call.args[arg];
  return typeof v === "number" ? v : 0;
}

function pagesOf(bytes: number, ps: number): string {
  return `${bytes / ps} page${bytes === ps ? "" : "s"} (${kB(bytes)})`;
}

/** A text read from memory, for a message: runs of NUL bytes shown as what they are. */
function shown(text: string | undefined): string {
  if (text === undefined) return "nothing";
  if (/^\0+$/.test(text)) return `${text.length} zero bytes (nothing written there)`;
  return JSON.stringify(text.replaceAll("\0", "\\0"));
}

/**
 * Minor faults of a process's main thread (the one running the student's code
 * and the drive), from /proc/PID/task/PID/stat, read by the checker: the
 * garbage collector's and compiler's threads fault pages of their own.
 */
function mainThreadMinorFaults(pid: number): number {
  return threadStat(pid).minorFaults;
}

/** A page that counts in Rss: present and this process's own (not the shared zero page). */
function countsInRss(page: PageLook): boolean {
  return page.present && (page.exclusive || page.fileOrShared);
}

/** What read faults did, in this run: the zero page, pages of the process's own, or a mix. */
export interface ReadFaultsSeen {
  kind: "zero-page" | "allocates" | "mixed";
  /** For a note: the pagemap counts, in words. */
  text: string;
  /** Why the pages count in Rss or not: the likely-mistake text of a wrong prediction. */
  why: string;
  /** What this kernel does where it differs from the textbook. */
  kernel: string;
}

/** Reads what the read faults did from the pagemap taken after reading every page. */
export function readFaultsSeen(look: Look): ReadFaultsSeen {
  const zero = look.pages.filter((p) => p.present && !countsInRss(p)).length;
  const own = look.pages.filter(countsInRss).length;
  const absent = look.pages.length - zero - own;
  const parts = [
    zero ? `${zero} present but nobody's own (pagemap bit 56 clear: the shared zero page)` : "",
    own ? `${own} present and this process's own (bit 56 set)` : "",
    absent ? `${absent} absent` : "",
  ].filter(Boolean);
  const kind = own === 0 ? "zero-page" : zero === 0 ? "allocates" : "mixed";
  const text = `${parts.join(", ")}`;
  const textbook = "The textbook kernel maps every untouched page, read-only, to its single " +
    "zero page, which is nobody's own and counts in no one's Rss";
  if (kind === "zero-page") {
    return {
      kind,
      text,
      why: `reading does not allocate here. ${textbook}: a page of your own comes only with ` +
        "the first write",
      kernel: "",
    };
  }
  const kernel = kind === "allocates"
    ? "a read fault of fresh private anonymous memory allocates a zeroed page of the " +
      "process's own here, instead of mapping the shared zero page"
    : `${own} of ${look.pages.length} read faults allocated a page of the process's own, ` +
      `${zero} mapped the shared zero page`;
  return {
    kind,
    text,
    why: `look at the pagemap line above: after only reading, ${own} pages are this ` +
      `process's own. ${textbook}; this kernel does not (some kernels and virtual machines ` +
      "refuse the zero page), so here every page read counts in Rss",
    kernel,
  };
}

/** The answers PREDICTED_FAULTS_WHEN_READING takes. */
const READ_FAULT_ANSWERS = ["none", "one", "one per page"];

/**
 * Names a fault count for a prediction: every page read faulted ("one per
 * page"; the count may be a little higher, the child faults a page of its own
 * heap now and then), or far fewer ("one" or less).
 */
export function readFaultsBucket(faults: number, pages: number): string {
  if (faults >= pages) return "one per page";
  if (faults <= 0) return "none";
  if (faults <= 3) return "one";
  return `${faults} for ${pages} pages`;
}

function privateValue(ctx: CheckContext, run: PrivateRun): PrivateValue {
  const r = run.result;
  if (r.outcome === "signal" && r.signal === "SIGSEGV") {
    const d = diagnoseSegv(r.calls);
    ctx.fail("your code was killed by SIGSEGV while the checker used your memory", {
      expected: "memory mapped PROT_READ|PROT_WRITE, mapped until the checker is done",
      observed: `killed by SIGSEGV; your calls: ${d.evidence}`,
      mistake: d.cause === "read-only"
        ? 'allocate must return writable memory (mapAnonymous\'s default access "readwrite")'
        : d.mistake,
    });
  }
  if (r.outcome === "threw" && /reaches past the mapping's end/.test(r.error?.message ?? "")) {
    const { first, count } = run.params.release;
    ctx.fail(`release(memory, ${first}, ${count}) asked for a range past the end of the memory`, {
      observed: r.error?.message,
      mistake: "the range is offset first × memory.pageSize, length count × memory.pageSize " +
        "(bytes, not pages: off by one?)",
    });
  }
  return ctx.expectOk(r, "allocating, touching and releasing memory") as PrivateValue;
}

function ownerWhere(ctx: CheckContext, run: SharedRun): OwnerWhere {
  if (!run.created) {
    const r = run.owner;
    const empty = r.outcome === "signal" && r.signal === "SIGBUS" ||
      r.outcome === "threw" && /empty|length 0/.test(r.error?.message ?? "");
    if (empty) {
      ctx.fail("createShared could not use its memfd: it has no size", {
        observed: r.outcome === "signal"
          ? "killed by SIGBUS: a touch past the end of the memfd"
          : `threw ${r.error?.message}`,
        mistake: "a new memfd is an empty file (size 0): give it its size with " +
          "sys.ftruncate(fd, size) before mapping it",
      });
    }
    ctx.expectOk(run.owner, "createShared");
    ctx.fail("createShared's process ended before the checker could look at it");
  }
  return run.created;
}

// ---------------------------------------------------------------------------

export default defineChecks([
  {
    id: "allocate-lazy",
    title: "allocate gives private anonymous memory: zero-filled, nothing resident until touched",
    points: 2,
    hint: "mapAnonymous(size), and nothing else: no populate, no filling.",
    async run(ctx: CheckContext) {
      const run = await privateRun(ctx);
      const value = privateValue(ctx, run);
      const call = mmapCalls(run.result).find((c) => c.result === value.address);
      if (!call) {
        ctx.fail("the memory allocate returned was not mapped by your code with mmap()", {
          mistake: "return the Mapping that mapAnonymous() gives",
        });
      }
      ctx.note(`your allocation: ${formatInvocation(call)}`);
      if (!hasFlag(call, "MAP_ANONYMOUS") || num(call, "fd") !== -1) {
        ctx.fail("allocate's memory is a mapping of a file, not anonymous memory", {
          expected: "mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
          observed: formatInvocation(call),
          mistake: "use mapAnonymous(size): memory that belongs to no file",
        });
      }
      if (hasFlag(call, "MAP_SHARED")) {
        ctx.fail("allocate's memory is shared anonymous memory (MAP_SHARED)", {
          expected: "MAP_PRIVATE|MAP_ANONYMOUS",
          observed: formatInvocation(call),
          mistake: 'mode: "shared" makes shmem pages meant for fork() children: scratch memory ' +
            "of your own is private (mapAnonymous's default)",
        });
      }
      if (value.length < run.params.size) {
        ctx.fail(`allocate(${run.params.size}) gave only ${value.length} bytes`, {
          mistake: "map `size` bytes",
        });
      }
      const atStart = run.looks.allocated;
      const resident = atStart.pages.map((p, i) => p.present ? i : -1).filter((i) => i >= 0);
      if (resident.length) {
        const populate = hasFlag(call, "MAP_POPULATE");
        ctx.fail("pages were already in RAM before anything touched them", {
          expected: "right after allocate: every page absent (pagemap bit 63 clear), Rss 0 kB",
          observed: `${resident.length} of ${atStart.pages.length} pages present, Rss ${
            kB(atStart.rss)
          }`,
          mistake: populate
            ? "MAP_POPULATE (populate: true) faults every page in at once: you pay for memory " +
              "you may never use. Leave it out"
            : "anonymous memory is already zero-filled: writing zeros (fill(0)) yourself touches " +
              "every page, so the kernel has to give you every page at once",
        });
      }
      if (value.nonZero !== 0) {
        ctx.fail(`${value.nonZero} bytes of fresh memory are not zero`, {
          mistake: "return the memory untouched",
        });
      }
      ctx.note(
        `after allocate: ${atStart.pages.length} pages, none present, Rss ${kB(atStart.rss)}; ` +
          `every byte read as 0`,
      );
    },
  },
  {
    id: "predict-read-faults",
    title: "your prediction: page faults when reading untouched memory",
    points: 2,
    parent: "allocate-lazy",
    hint: "The memory is known to be zeros, but the addresses have no page behind them yet. What " +
      "must the kernel do the first time each page is read, and how often?",
    async run(ctx: CheckContext) {
      const run = await privateRun(ctx);
      const value = privateValue(ctx, run);
      const ps = run.pageSize;
      const { allocated, read, written } = run.looks;
      const total = read.pages.length;
      const { readFaults, writeFaults } = value;
      const outside = read.minorFaults - allocated.minorFaults;
      const appeared = read.pages.filter((p, i) => p.present && !allocated.pages[i].present).length;
      if (readFaults > outside || (readFaults < appeared && outside >= appeared)) {
        ctx.fail("the fault count from inside your process disagrees with the kernel's", {
          expected: `at most ${outside} faults (/proc/PID/stat), at least one for each of the ` +
            `${appeared} pages that appeared`,
          observed: `${readFaults} faults counted by getrusage in your process`,
          mistake: "something in your module changed what getrusage reports: leave the " +
            "library's functions alone",
        });
      }
      const seen = readFaultsSeen(read);
      const observed = readFaultsBucket(readFaults, total);
      const predicted = value.predictions.PREDICTED_FAULTS_WHEN_READING;
      ctx.note(
        `reading one byte of each of ${total} untouched pages: ${readFaults} page faults ` +
          `(getrusage of the reading thread); then ${seen.text}; Rss ${kB(read.rss)}`,
      );
      const wrote = new Set(run.params.writes.map((w) => w.page)).size;
      const faults = `${writeFaults} fault${writeFaults === 1 ? "" : "s"}`;
      ctx.note(
        `then writing one byte in each of ${wrote} of those pages: ${faults}, Rss ` +
          `${pagesOf(written.rss, ps)}: ` + (seen.kind === "zero-page"
            ? "each write swapped the zero page for a page of your own (copy-on-write)"
            : "a read had already given each page of your own, so a write needs no fault" +
              (writeFaults > 0 ? " (Deno faults a page of its own heap now and then)" : "")),
      );
      if (seen.kind !== "zero-page") {
        ctx.note(`your kernel: ${seen.kernel} (deno task lab doctor)`);
      }
      ctx.note(`you predicted ${said(predicted)}; the kernel: ${JSON.stringify(observed)}`);
      requirePrediction(ctx, predicted, {
        name: "PREDICTED_FAULTS_WHEN_READING",
        allowed: READ_FAULT_ANSWERS,
      });
      if (predicted !== observed) {
        ctx.fail("your prediction differs from what the kernel did", {
          expected: `${JSON.stringify(observed)}: ${readFaults} faults for ${total} pages read`,
          observed: `you predicted ${JSON.stringify(predicted)}`,
          mistake: observed === "one per page"
            ? "mmap gave addresses only: no page table entry exists until a page is touched, so " +
              "the first read of each page traps into the kernel, which must put a page there " +
              "(" + (seen.kind === "zero-page"
                ? "here the shared zero page, read-only"
                : "here a fresh zeroed page of your own; the textbook kernel maps its shared " +
                  "zero page instead") +
              "). Neighbours are not filled in: anonymous memory has no fault-around"
            : `this kernel filled in several pages per fault (${readFaults} faults for ${total} ` +
              "pages)",
          kernel: observed === "one per page" ? undefined : `${readFaults} faults for ${total} ` +
            "pages read: more than one page per fault",
        });
      }
    },
  },
  {
    id: "release-zeros",
    title: "release gives exactly those pages back: absent, zero again, Rss down",
    points: 2,
    parent: "allocate-lazy",
    hint: "memory.discard({ offset: first * memory.pageSize, length: count * memory.pageSize })",
    async run(ctx: CheckContext) {
      const run = await privateRun(ctx);
      const value = privateValue(ctx, run);
      const ps = run.pageSize;
      const { first, count } = run.params.release;
      const before = run.looks.written;
      const after = run.looks.released;
      const inRange = (p: number) =>
        p >= first && p < first + count;
      const stillThere = after.pages.map((p, i) => inRange(i) && p.present ? i : -1)
        .filter((i) => i >= 0);
      const droppedElsewhere = after.pages.map((p, i) =>
        !inRange(i) && before.pages[i].present && !p.present ? i : -1
      ).filter((i) => i >= 0);
      const writtenIn = run.params.writes.filter((w) => inRange(w.page));
      // What each released page counted in Rss just before: pages of this process's own do
      // (written, or allocated by a read fault on a kernel without the zero page); the shared
      // zero page does not. Taken from this run's pagemap, not from what a textbook kernel does.
      const ownInRange = before.pages.filter((p, i) => inRange(i) && countsInRss(p)).length;
      const expectedRss = before.rss - ownInRange * ps;
      const range = `pages ${first}–${first + count - 1}`;
      if (stillThere.length === count && droppedElsewhere.length === 0) {
        const calls = callsTo(run.result.calls, "madvise");
        ctx.fail(`release(memory, ${first}, ${count}) left every page of ${range} in place`, {
          expected: `${range} absent (pagemap bit 63 clear), Rss ${kB(expectedRss)}`,
          observed: `all present, Rss ${kB(after.rss)} (was ${kB(before.rss)}); ` +
            `${calls.length} madvise call(s)`,
          mistake: value.nonZeroReleased === 0 && calls.length === 0
            ? "writing zeros keeps every page (and touches more): the memory reads as zeros but " +
              "is still yours. MADV_DONTNEED (memory.discard) gives the pages back"
            : "release did nothing: call memory.discard({ offset, length })",
        });
      }
      if (droppedElsewhere.length) {
        ctx.fail(`release(memory, ${first}, ${count}) dropped ${pageList(droppedElsewhere)}`, {
          expected: `only ${range} dropped`,
          observed: `${pageList(droppedElsewhere)} dropped` +
            (stillThere.length ? `, ${pageList(stillThere)} kept` : ""),
          mistake: "the wrong range: page N starts at byte N × memory.pageSize and the length " +
            "is count × memory.pageSize (off by one? bytes instead of pages?)",
        });
      }
      if (stillThere.length) {
        ctx.fail(`release(memory, ${first}, ${count}) kept ${pageList(stillThere)}`, {
          expected: `${range} all dropped`,
          observed: `${pageList(stillThere)} still present`,
          mistake: "too short a range: the length is count × memory.pageSize",
        });
      }
      if (value.nonZeroReleased !== 0) {
        ctx.fail(`${value.nonZeroReleased} bytes of released pages are not zero`, {
          mistake: "released private anonymous pages must read as zeros",
        });
      }
      const lost = run.params.writes.filter((w, i) =>
        !inRange(w.page) && value.readBack[i] !== w.value
      );
      if (lost.length) {
        ctx.fail(`bytes outside ${range} changed: ${pageList(lost.map((w) => w.page))}`, {
          mistake: "release only the pages asked for",
        });
      }
      ctx.expectEqual(after.rss, expectedRss, {
        what: "Rss of the memory after release (bytes)",
        mistake: `each released page that counted in Rss (${ownInRange} of the ${count}, by ` +
          "pagemap just before release) should leave it",
      });
      ctx.note(
        `release(memory, ${first}, ${count}): ${range} absent; Rss ${kB(before.rss)} → ` +
          `${kB(after.rss)} (${ownInRange} page${ownInRange === 1 ? "" : "s"} of your own among ` +
          `them, ${writtenIn.length} of them written); they read as zeros again`,
      );
    },
  },
  {
    id: "shared-no-file",
    title: "createShared: a shared memfd, reachable from another process by its path",
    points: 2,
    hint: 'sys.memfdCreate, sys.ftruncate, mapDescriptor(fd, { access: "readwrite" }); the path ' +
      "is /proc/<your pid>/fd/<fd>.",
    timeoutMs: 20_000,
    async run(ctx: CheckContext) {
      const run = await sharedRun(ctx);
      const where = ownerWhere(ctx, run);
      const line = run.line;
      if (!line) ctx.fail("the checker found no mapping at the address createShared returned");
      ctx.note(`your shared memory in /proc/${where.pid}/maps: ${line.perms} ${line.path}`);
      if (run.backing === "disk-file") {
        ctx.fail("the shared memory is a file on disk", {
          expected: "/memfd:… (deleted): a file in RAM with no name in any directory",
          observed: line.path,
          mistake: "a file on disk persists and gets written back to storage: use " +
            "sys.memfdCreate(name) for memory without a file",
        });
      }
      if (run.backing === "shared-anonymous") {
        ctx.fail("the shared memory is MAP_SHARED|MAP_ANONYMOUS", {
          expected: "a memfd, which another process can open by path",
          observed: line.path,
          mistake: "shared anonymous memory is shared only with children made by fork(); no " +
            "other process can open it. Deno cannot fork: use a memfd",
        });
      }
      if (run.backing === "unknown") {
        ctx.fail("the shared memory is not a memfd", {
          expected: "/memfd:… in /proc/PID/maps",
          observed: line.path || "(anonymous memory)",
          mistake: "create it with sys.memfdCreate and map that descriptor",
        });
      }
      if (line.perms[3] !== "s") {
        ctx.fail("the creator's mapping of the memfd is private", {
          expected: "rw-s (MAP_SHARED)",
          observed: line.perms,
          mistake: 'mode "private" (MAP_PRIVATE) keeps writes in this process: map it shared',
        });
      }
      if (run.refused === "self") {
        ctx.fail(`the path ${JSON.stringify(where.path)} names no one's memfd in particular`, {
          expected: `/proc/${where.pid}/fd/${where.fd}`,
          observed: where.path,
          mistake: "/proc/self is whoever opens the path: another process opening " +
            "/proc/self/fd/N gets its own descriptor N. Use the creator's pid: Deno.pid",
        });
      }
      if (run.refused) {
        ctx.fail(`the path ${JSON.stringify(where.path)} is not the creator's memfd`, {
          expected: `/proc/${where.pid}/fd/${where.fd} (or /dev/shm/NAME)`,
          observed: where.path,
        });
      }
      if (run.checkerError !== undefined || run.checkerSaw !== run.texts.hello) {
        ctx.fail(
          `another process (the checker's own) mapping ${where.path} did not see the creator's text`,
          {
            expected: JSON.stringify(run.texts.hello),
            observed: run.checkerError ?? shown(run.checkerSaw),
            mistake: run.fdsAtCreate?.includes(where.fd) === false
              ? `descriptor ${where.fd} is not the memfd: return the descriptor memfdCreate gave`
              : "the path must lead to the same memfd that createShared mapped",
          },
        );
      }
      const seen = (run.owner.value as { seen?: string[] } | undefined)?.seen;
      if (!seen) ctx.expectOk(run.owner, "the creator, after the others wrote");
      if (seen?.[0] !== run.texts.checker) {
        ctx.fail("the creator did not see what the checker wrote through the path", {
          expected: JSON.stringify(run.texts.checker),
          observed: shown(seen?.[0]),
          mistake: "the creator's mapping must be MAP_SHARED, of the memfd itself",
        });
      }
      ctx.note(
        `a process of the checker's mapped ${where.path} and read ${
          JSON.stringify(run.checkerSaw)
        }; the ` +
          `creator then read the checker's ${JSON.stringify(seen?.[0])}: one memory, two processes`,
      );
    },
  },
  {
    id: "attach",
    title: "attachShared: another process maps the memory and both see each other's writes",
    points: 2,
    parent: "shared-no-file",
    hint: 'mapFile(path, { access: "readwrite" }): shared is mapFile\'s default mode.',
    async run(ctx: CheckContext) {
      const run = await sharedRun(ctx);
      const attach = run.attach;
      if (!attach) ctx.fail("the other process was never started");
      const r = attach.result;
      if (r.outcome === "signal" && r.signal === "SIGSEGV") {
        const d = diagnoseSegv(r.calls);
        ctx.fail("the other process was killed by SIGSEGV writing through attachShared's mapping", {
          expected: "mmap(…, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)",
          observed: `your calls: ${d.evidence}`,
          mistake: d.cause === "read-only"
            ? 'a read-only mapping: mapFile maps with access "read" unless you ask for ' +
              '"readwrite"'
            : d.mistake,
        });
      }
      const value = ctx.expectOk(r, "attachShared in another process") as {
        address: string;
        sawHello: string;
      };
      const call = mmapCalls(r).find((c) => c.result === value.address);
      if (call) ctx.note(`attachShared: ${formatInvocation(call)}`);
      if (value.sawHello !== run.texts.hello) {
        ctx.fail("the other process did not read the creator's text", {
          expected: JSON.stringify(run.texts.hello),
          observed: shown(value.sawHello),
          mistake: "map the path you were given, from offset 0",
        });
      }
      const seen = (run.owner.value as { seen?: string[] } | undefined)?.seen;
      if (seen?.[1] !== run.texts.other) {
        const priv = call !== undefined && hasFlag(call, "MAP_PRIVATE");
        ctx.fail("the creator did not see what the other process wrote", {
          expected: JSON.stringify(run.texts.other),
          observed: shown(seen?.[1]),
          mistake: priv
            ? 'attachShared mapped MAP_PRIVATE (mode "private"): its writes went to private ' +
              "copies. Map it shared"
            : "attachShared's mapping must be MAP_SHARED and writable",
        });
      }
      ctx.note(
        `the other process read ${JSON.stringify(value.sawHello)} and wrote ` +
          `${JSON.stringify(run.texts.other)}, which the creator read back`,
      );
    },
  },
  {
    id: "close-frees",
    title: "closeShared leaves the creator no mapping and no descriptor of the memory",
    points: 2,
    parent: "shared-no-file",
    hint: "Unmap region.memory, and close region.fd with sys.close.",
    async run(ctx: CheckContext) {
      const run = await sharedRun(ctx);
      if (!run.fdsAtClose || !run.mappedAtClose) {
        ctx.expectOk(run.owner, "closeShared");
        ctx.fail("the checker could not look at the creator after closeShared");
      }
      const where = run.created!;
      if (run.mappedAtClose.length) {
        ctx.fail("after closeShared the memory is still mapped in the creator", {
          expected: `no line of /proc/${where.pid}/maps on inode ${run.line!.inode}`,
          observed: run.mappedAtClose.map((l) => `${l.perms} ${l.path}`).join("; "),
          mistake: "unmap region.memory (region.memory.unmap())",
        });
      }
      if (run.fdsAtClose.length) {
        ctx.fail("after closeShared the creator still holds a descriptor to the memory", {
          expected: `no descriptor on inode ${run.line!.inode} in /proc/${where.pid}/fdinfo`,
          observed: `descriptor${run.fdsAtClose.length > 1 ? "s" : ""} ${
            run.fdsAtClose.join(", ")
          }`,
          mistake: "unmapping is not enough: the memfd lives as long as any descriptor or " +
            "mapping refers to it. Close region.fd with sys.close",
        });
      }
      if (run.shmLeft) {
        ctx.fail(`${run.line!.path} is still there after closeShared`, {
          mistake: "a shm_open object (a file in /dev/shm) lives until it is unlinked, even " +
            "with no user: a memfd goes away by itself. Use sys.memfdCreate",
        });
      }
      ctx.note(
        `after closeShared: no mapping and no descriptor of it left in process ${where.pid}`,
      );
      const other = run.attach?.result?.value as AttachValue | undefined;
      if (other?.afterClose !== undefined) {
        ctx.note(
          `the other process, still mapping it, then read ${shown(other.afterClose)}: the ` +
            `memory lives while anyone holds it, and is freed when the last user lets go`,
        );
      }
    },
  },
  {
    id: "predict-shared-release",
    title: "your prediction: what release() leaves in shared memory",
    points: 1,
    parent: "attach",
    hint: "MADV_DONTNEED drops this process's pages. Whose are the pages of a memfd?",
    async run(ctx: CheckContext) {
      const shared = await sharedRun(ctx);
      const priv = await privateRun(ctx);
      const value = privateValue(ctx, priv);
      const atReleased = priv.looks.released;
      const { first, count } = priv.params.release;
      const releaseWorks = atReleased &&
        atReleased.pages.slice(first, first + count).every((p) => !p.present);
      if (!releaseWorks) {
        ctx.fail("release() does not drop exactly the pages asked yet: this run shows nothing", {
          mistake: "make release-zeros pass first",
        });
      }
      const r = shared.attach!.result;
      const attachValue = ctx.expectOk(r, "release() on the attached memory") as AttachValue;
      if (attachValue.afterRelease === undefined) {
        ctx.fail("release() on the attached memory did not complete", {
          observed: attachValue.releaseError ?? "the mapping was gone after release()",
          mistake: "release(memory, 0, memory.pageCount) must drop the whole mapping, no more",
        });
      }
      const after = attachValue.afterRelease;
      const observed = after === shared.texts.hello
        ? "data"
        : /^\0+$/.test(after)
        ? "zeros"
        : "other";
      const predicted = value.predictions.PREDICTED_SHARED_AFTER_RELEASE;
      ctx.note(
        `after release() on its whole mapping, the other process read ${
          shown(after)
        } (${observed}); you predicted ${said(predicted)}`,
      );
      requirePrediction(ctx, predicted, {
        name: "PREDICTED_SHARED_AFTER_RELEASE",
        allowed: ["zeros", "data"],
      });
      if (predicted !== observed) {
        ctx.fail("your prediction differs from what the kernel did", {
          expected: JSON.stringify(observed),
          observed: `you predicted ${JSON.stringify(predicted)}`,
          mistake: "MADV_DONTNEED drops this process's view of the pages. Private anonymous " +
            "pages belong to the process alone, so they are freed and come back as zeros; a " +
            "memfd's pages belong to the memfd, which keeps them: the next touch maps them again",
        });
      }
    },
  },
]);
