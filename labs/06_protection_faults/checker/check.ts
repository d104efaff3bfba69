/**
 * Checks of lab 06: the kernel's errors, its signals, and guard pages.
 *
 * Evidence: the failed `mmap` calls in the call record (errno from the
 * kernel, arguments, the `open`/`close` around them); for the crashes, the
 * child's exit signal plus a *flight file* the drive wrote call by call
 * (the in-memory call record dies with the process); for the guard pages,
 * `/proc/PID/maps` read by the checker while the child waits at a
 * checkpoint, the call record of `free()`, and a shared progress file that
 * says at which byte an overflowing child died.
 *
 * @module
 */
import {
  type CallRecord,
  callsTo,
  type CheckContext,
  type ChildResult,
  defineChecks,
  type FailureDetails,
  formatCall,
  hasFlag,
  type MapsEntry,
  O,
  procMaps,
  readFlight,
  requirePrediction,
  succeeded,
  sys,
} from "../../../lib/checker/mod.ts";
import { ERROR_FUNCTIONS, type ErrorOutcome, type Params, SIGNAL_FUNCTIONS } from "./drive.ts";

// ---------------------------------------------------------------- reading /proc

/** The page size, set by {@link setup} at the start of every check. */
let PS = 4096;

function setup(): void {
  PS = sys.pageSize(); // checkers run with --allow-ffi (the lab, grade and test permission sets)
}

/** The memory areas of `pid`, from `/proc/PID/maps`. */
function mapsOf(pid: number): MapsEntry[] {
  return procMaps(pid);
}

type ErrorName = typeof ERROR_FUNCTIONS[number];
type SignalName = typeof SIGNAL_FUNCTIONS[number];

// ---------------------------------------------------------------- the errors run

interface ErrorsRun {
  result: ChildResult;
  outcomes: Record<ErrorName, ErrorOutcome>;
  predictions: Record<string, unknown>;
}

function errorsRun(ctx: CheckContext): Promise<ErrorsRun> {
  return ctx.once("errors", async () => {
    const pages = ctx.random.int(2, 5);
    const path = ctx.file("data.bin", ctx.random.bytes(pages * PS));
    const result = await ctx.run("drive.ts", { mode: "errors", path } satisfies Params);
    const value = result.outcome === "ok"
      ? result.value as {
        outcomes: Record<ErrorName, ErrorOutcome>;
        predictions: Record<string, unknown>;
      }
      : undefined;
    return {
      result,
      outcomes: value?.outcomes ?? {} as Record<ErrorName, ErrorOutcome>,
      predictions: value?.predictions ?? {},
    };
  });
}

/** What went wrong in one error function, or undefined if it met the kernel's error. */
function judgeError(
  run: ErrorsRun,
  name: ErrorName,
): { message: string; details: FailureDetails } | undefined {
  const o = run.outcomes[name];
  const calls = run.result.calls.slice(o.from, o.to);
  const shown = calls.map(formatCall).join("; ") || "no calls";
  const fail = (message: string, mistake: string) => ({
    message: `${name}: ${message}`,
    details: { observed: `your calls: ${shown}`, mistake },
  });
  const expected = {
    zeroLength: "EINVAL",
    unalignedOffset: "EINVAL",
    writableSharedOnReadOnly: "EACCES",
    closedDescriptor: "EBADF",
  }[name];
  // Which failed mmap is the one this function is about?
  const opened = new Map<number, number>(); // fd → open flags, as of each call
  const closed = new Set<number>();
  let kernelCall: CallRecord | undefined;
  for (const c of calls) {
    if (c.call === "open" && typeof c.result === "number" && c.result >= 0) {
      opened.set(c.result, Number(c.args.flags));
      closed.delete(c.result);
    }
    if (c.call === "close" && !c.error) closed.add(Number(c.args.fd));
    if (c.call !== "mmap" || c.error !== expected) continue;
    const a = c.args;
    const fd = Number(a.fd);
    const fits = name === "zeroLength"
      ? a.length === 0
      : name === "unalignedOffset"
      ? Number(a.length) > 0 && Number(a.offset) % PS !== 0
      : name === "writableSharedOnReadOnly"
      ? hasFlag(c, "PROT_WRITE") && hasFlag(c, "MAP_SHARED") && opened.has(fd) &&
        (opened.get(fd)! & 3) === O.RDONLY && !closed.has(fd)
      : closed.has(fd) && fd >= 0;
    if (fits) kernelCall = c;
  }
  if (o.kind === "threw") {
    return fail(
      `threw: ${o.message}`,
      "catch the MmapError and return it: the error is the answer",
    );
  }
  if (o.kind === "error" && o.fromKernel === false) {
    return fail(
      `the library refused the call before the kernel saw it (${o.code})`,
      "mapFile/mapDescriptor check length 0 and unaligned offsets themselves: call sys.mmap " +
        "directly to hear the kernel's own answer (fromKernel true)",
    );
  }
  const successes = succeeded(calls, "mmap");
  if (o.kind !== "error") {
    let mistake = `provoke ${expected} from the kernel with sys.mmap, catch it and return it`;
    if (name === "writableSharedOnReadOnly" && successes.length) {
      const s = successes[0];
      const fdFlags = opened.get(Number(s.args.fd));
      mistake = !hasFlag(s, "MAP_SHARED")
        ? "MAP_PRIVATE with PROT_WRITE is allowed on a read-only descriptor: writes go to a " +
          "private copy, never to the file. EACCES comes with MAP_SHARED"
        : fdFlags !== undefined && (fdFlags & 3) !== O.RDONLY
        ? "the descriptor was opened read-write: open it O_RDONLY, then ask for PROT_WRITE with " +
          "MAP_SHARED"
        : "ask for PROT_READ | PROT_WRITE with MAP_SHARED on a descriptor opened O_RDONLY";
    }
    if (name === "closedDescriptor" && successes.length) {
      mistake = "the descriptor was still open: close it first, then pass it to mmap";
    }
    return fail(
      o.kind === "none"
        ? (successes.length ? "mmap succeeded, so there was no error" : "returned no error")
        : `returned ${o.message} instead of an MmapError`,
      mistake,
    );
  }
  if (o.code !== expected) {
    let mistake = `expected the kernel's ${expected} for this case`;
    if (name === "closedDescriptor" && o.code === "EINVAL") {
      mistake = "EINVAL, not EBADF: check the length and offset are valid, so that only the " +
        "closed descriptor is wrong";
    }
    if (name === "unalignedOffset" && o.code === "EBADF") {
      mistake = "EBADF: the descriptor was not open; open the file so only the offset is wrong";
    }
    return {
      message: `${name}: got ${o.code}, expected ${expected}`,
      details: { expected, observed: `${o.code} (your calls: ${shown})`, mistake },
    };
  }
  if (!kernelCall) {
    const hint = {
      zeroLength: "sys.mmap(null, 0, …) on an open descriptor",
      unalignedOffset: "sys.mmap with a length > 0 and an offset that is not a multiple of " +
        "sys.pageSize()",
      writableSharedOnReadOnly: "sys.open(path, O.RDONLY), then sys.mmap(null, len, " +
        "PROT.READ | PROT.WRITE, MAP.SHARED, fd, 0)",
      closedDescriptor:
        "sys.open, sys.close, then sys.mmap(…, MAP.SHARED, thatFd, 0): the fd must " +
        "be one you opened and closed (not -1)",
    }[name];
    return fail(`${expected}, but not from the call this case is about`, hint);
  }
  const leaked = [...opened.keys()].filter((fd) => !closed.has(fd));
  if (leaked.length) {
    return fail(
      `descriptor(s) ${leaked.join(", ")} opened and never closed`,
      "forgetting close: close every descriptor you open (try/finally), even when mmap fails",
    );
  }
  return undefined;
}

function errorCheck(names: ErrorName[]) {
  return async (ctx: CheckContext) => {
    setup();
    const run = await errorsRun(ctx);
    ctx.expectOk(run.result, "the error functions");
    for (const name of names) {
      const problem = judgeError(run, name);
      if (problem) ctx.fail(problem.message, problem.details);
      const o = run.outcomes[name];
      const call = callsTo(run.result.calls.slice(o.from, o.to), "mmap").find((c) => c.error);
      ctx.note(`${name}: ${call ? formatCall(call) : "?"} → ${o.code} from the kernel`);
    }
  };
}

// ---------------------------------------------------------------- the crash runs

interface SignalRun {
  result: ChildResult;
  flight: CallRecord[];
  size: number;
}

function signalRun(ctx: CheckContext, fn: SignalName): Promise<SignalRun> {
  return ctx.once(`signal-${fn}`, async () => {
    const size = fn === "touchPastEnd" ? ctx.random.int(16, PS - 16) : ctx.random.int(2, 4) * PS;
    const path = ctx.file(`${fn}.bin`, ctx.random.bytes(size));
    const flight = `${ctx.scratch}/${fn}.flight.jsonl`;
    const result = await ctx.run("drive.ts", { mode: "signal", fn, path, flight } satisfies Params);
    return { result, flight: readFlight(flight), size };
  });
}

const EXPECTED_SIGNAL: Record<SignalName, string> = {
  writeReadOnly: "SIGSEGV",
  touchAfterMunmap: "SIGSEGV",
  touchPastEnd: "SIGBUS",
};

function ended(result: ChildResult): string {
  if (result.outcome === "signal") return `killed by ${result.signal}`;
  if (result.outcome === "ok") return "ran to the end without a fault";
  if (result.outcome === "threw") return `threw ${result.error?.name}: ${result.error?.message}`;
  return result.outcome;
}

/** Whether a crash function crashed the right way, for the right reason. */
function judgeSignal(
  run: SignalRun,
  fn: SignalName,
): { message: string; details: FailureDetails } | undefined {
  const { result, flight } = run;
  const want = EXPECTED_SIGNAL[fn];
  const shown = flight.filter((c) => c.call !== "lseek").map(formatCall).join("; ") || "no calls";
  const fail = (message: string, mistake: string) => ({
    message: `${fn}: ${message}`,
    details: { expected: want, observed: `${ended(result)}; calls: ${shown}`, mistake },
  });
  const mmaps = succeeded(flight, "mmap");
  if (fn === "writeReadOnly") {
    const readOnly = mmaps.find((c) => !hasFlag(c, "PROT_WRITE"));
    if (result.signal === want && readOnly) return undefined;
    if (result.outcome === "ok") {
      return fail(
        "no fault: the write went through",
        mmaps.some((c) => hasFlag(c, "PROT_WRITE"))
          ? "the mapping was writable (PROT_WRITE): map the file read-only, then store a byte"
          : "store a byte into a read-only mapping of the file (mapFile(path) is read-only)",
      );
    }
    if (result.signal === want) {
      return fail(
        "SIGSEGV, but no read-only mapping was made before it",
        "map the file with PROT_READ only (mapFile(path)) and write into that",
      );
    }
    return fail(ended(result), "map the file read-only and store one byte into it");
  }
  if (fn === "touchAfterMunmap") {
    const unmapped = succeeded(flight, "munmap").find((c) =>
      succeeded(flight.slice(0, flight.indexOf(c)), "mmap").some((m) => m.result === c.args.addr)
    );
    if (result.signal === want && unmapped) return undefined;
    if (result.outcome === "ok") {
      return fail(
        "no fault after munmap",
        unmapped
          ? "the view did not reach the unmapped memory: a Mapping's views detach on unmap() " +
            "(length 0, stores ignored). Use the raw layer: sys.mmap, a view from " +
            "Deno.UnsafePointerView.getArrayBuffer(ptr, length), sys.munmap, then touch the view"
          : "munmap the region (sys.munmap) before touching it",
      );
    }
    if (result.signal === want) {
      return fail(
        "SIGSEGV, but no munmap of a region mapped just before",
        "sys.mmap a region, sys.munmap it, then touch it through your view",
      );
    }
    return fail(ended(result), "sys.mmap, view, sys.munmap, then touch the view");
  }
  // touchPastEnd
  const long = mmaps.find((c) => Number(c.args.length) >= 2 * PS);
  if (result.signal === want && long) return undefined;
  if (result.signal === "SIGSEGV") {
    return fail(
      "SIGSEGV, not SIGBUS",
      "you touched memory past the end of the mapping itself. SIGBUS is a page that is mapped " +
        "but lies wholly past the end of the file: map two pages of the short file and touch " +
        "the second",
    );
  }
  if (result.outcome === "ok") {
    return fail(
      "no fault",
      "bytes past the end of the file inside its last page read as zero and raise nothing: " +
        "touch a page that lies wholly past the end (byte pageSize of a two-page mapping)",
    );
  }
  if (result.outcome === "threw" && /allowPastEnd|past the end/.test(result.error?.message ?? "")) {
    return fail(
      "mapFile refused the mapping",
      "mapFile refuses a mapping past the end of the file: pass { length: 2 * pageSize, " +
        "allowPastEnd: true }",
    );
  }
  return fail(ended(result), "map two pages of the short file and read a byte of the second");
}

/** The student's predictions (read in the errors run); a failure if they cannot be read. */
async function predictionsOf(ctx: CheckContext): Promise<Record<string, unknown>> {
  const errors = await errorsRun(ctx);
  ctx.expectOk(errors.result, "reading your predictions");
  return errors.predictions;
}

/**
 * The prediction of `fn`'s signal, taken before the crash is looked at: how
 * the child died, and every message about it, would give the answer away.
 */
async function requireSignalPrediction(ctx: CheckContext, fn: SignalName): Promise<string> {
  const signals = ((await predictionsOf(ctx)).PREDICTED_SIGNALS ?? {}) as Record<string, unknown>;
  return requirePrediction(ctx, signals[fn], {
    name: `PREDICTED_SIGNALS.${fn}`,
    allowed: "string",
    describe: 'a signal name such as "SIGILL"',
  });
}

function signalCheck(fn: SignalName) {
  return async (ctx: CheckContext) => {
    setup();
    await requireSignalPrediction(ctx, fn);
    const run = await signalRun(ctx, fn);
    const problem = judgeSignal(run, fn);
    if (problem) ctx.fail(problem.message, problem.details);
    const shown = run.flight.filter((c) => ["mmap", "munmap", "mprotect"].includes(c.call));
    ctx.note(`${fn}: ${shown.map(formatCall).join("; ")} → ${run.result.signal}`);
  };
}

// ---------------------------------------------------------------- guard pages

interface LayoutRun {
  result: ChildResult;
  pages: number;
  address?: bigint;
  length?: number;
  maps?: MapsEntry[];
  mapsAfterFree?: MapsEntry[];
  /** After a new mapping took the freed range and free() was called again. */
  mapsAfterSecondFree?: MapsEntry[];
}

function layoutRun(ctx: CheckContext): Promise<LayoutRun> {
  return ctx.once("guard-layout", async () => {
    const pages = ctx.random.int(1, 6);
    const child = ctx.spawn("drive.ts", { mode: "guard-layout", pages } satisfies Params);
    const run: LayoutRun = { result: undefined as unknown as ChildResult, pages };
    const allocated = await child.checkpoint();
    if (allocated) {
      const where = allocated.data as { address: string; length: number };
      run.address = BigInt(where.address);
      run.length = where.length;
      run.maps = mapsOf(child.pid);
      await child.resume();
      const freed = await child.checkpoint();
      if (freed) {
        run.mapsAfterFree = mapsOf(child.pid);
        await child.resume();
        const again = await child.checkpoint();
        if (again) {
          run.mapsAfterSecondFree = mapsOf(child.pid);
          await child.resume();
        }
      }
    }
    run.result = await child.result();
    return run;
  });
}

function hexAddr(a: bigint): string {
  return "0x" + a.toString(16);
}

function describeAreas(maps: MapsEntry[], from: bigint, to: bigint): string[] {
  return maps.filter((e) => e.end > from && e.start < to).map((e) =>
    `${e.start.toString(16)}-${e.end.toString(16)} ${e.perms} (${Number(e.end - e.start) / PS} ` +
    `page${e.end - e.start === BigInt(PS) ? "" : "s"})`
  );
}

/** The three areas around the buffer, or what is wrong with them. */
function judgeLayout(run: LayoutRun): { message: string; details: FailureDetails } | {
  lines: number;
  areas: string[];
} {
  const { address: a, length: len, maps, pages } = run;
  if (a === undefined || len === undefined || !maps) {
    return { message: `allocateGuarded: ${ended(run.result)}`, details: {} };
  }
  const L = BigInt(len), P = BigInt(PS);
  const areas = describeAreas(maps, a - P, a + L + P);
  const observed = `your buffer ${hexAddr(a)}, ${len} bytes; /proc/PID/maps around it: ${
    areas.join(" | ") || "nothing"
  }`;
  const fail = (message: string, mistake: string) => ({
    message,
    details: {
      expected: "---p (1 page) | rw-p (the buffer) | ---p (1 page)",
      observed,
      mistake,
    },
  });
  if (len !== pages * PS) {
    return fail(
      `allocateGuarded(${pages}) returned a length of ${len}`,
      `the usable buffer is pages × pageSize = ${pages * PS} bytes, guards not included`,
    );
  }
  if (a % P !== 0n) {
    return fail("the buffer's address is not page-aligned", "hand out base + pageSize");
  }
  const at = (x: bigint) => maps.find((e) => e.start <= x && x < e.end);
  const mid = at(a), below = at(a - 1n), above = at(a + L);
  if (!mid) return fail("the buffer is not mapped", "return the address of the middle pages");
  if (mid.perms.startsWith("---")) {
    return fail(
      "the buffer's first page is PROT_NONE",
      mid.start < a
        ? "off by one page: a guard covers the buffer itself; the upper guard goes at base + " +
          "(pages + 1) × pageSize, past the buffer's last page"
        : "off by one page: the address points at the lower guard; hand out base + one page",
    );
  }
  if (!mid.perms.startsWith("rw")) {
    return fail(`the buffer is ${mid.perms}, not read-write`, "map it PROT_READ | PROT_WRITE");
  }
  if (mid.end < a + L) {
    const guardInside = at(mid.end)?.perms.startsWith("---");
    return fail(
      `only ${Number(mid.end - a) / PS} of the buffer's ${pages} page(s) are read-write`,
      guardInside
        ? "off by one page: the upper guard covers the buffer's last page; protect the page " +
          "at base + (pages + 1) × pageSize"
        : "the whole middle must be read-write",
    );
  }
  if (!below || !below.perms.startsWith("---")) {
    return fail(
      "no guard page below the buffer",
      "mprotect the first page of the region PROT_NONE and hand out the page after it",
    );
  }
  if (!above || !above.perms.startsWith("---")) {
    return fail(
      "no guard page above the buffer",
      "mprotect the last page of the region (base + (pages + 1) × pageSize) PROT_NONE",
    );
  }
  if (mid.start !== a || mid.end !== a + L) {
    return fail("the read-write area is not exactly the buffer", "guards right against it");
  }
  // The guards must be the student's own pages, not a neighbour's PROT_NONE reservation.
  const calls = run.result.calls;
  const own = succeeded(calls, "mmap").find((c) => {
    if (typeof c.result !== "string") return false;
    const start = BigInt(c.result), end = start + BigInt(Number(c.args.length));
    return start <= a - P && end >= a + L + P;
  });
  if (!own) {
    return fail(
      "the PROT_NONE pages around the buffer are not part of your mapping",
      "those ---p pages belong to someone else (V8 reserves such regions): map pages + 2 pages " +
        "yourself and make the first and the last PROT_NONE",
    );
  }
  const lines = maps.filter((e) => e.end > a - P && e.start < a + L + P).length;
  return { lines, areas };
}

interface OverflowRun {
  result: ChildResult;
  last: number;
  finished: boolean;
  length: number;
  started: boolean;
}

function overflowRun(ctx: CheckContext, direction: "up" | "down"): Promise<OverflowRun> {
  return ctx.once(`overflow-${direction}`, async () => {
    const progress = ctx.file(`progress-${direction}.bin`, new Uint8Array(PS));
    const params: Params = {
      mode: "guard-overflow",
      pages: ctx.random.int(1, 5),
      direction,
      extra: direction === "up" ? ctx.random.int(1, PS - 1) : ctx.random.int(1, 64),
      progress,
    };
    const result = await ctx.run("drive.ts", params);
    const p = new Int32Array(Deno.readFileSync(progress).buffer, 0, 4);
    return { result, last: p[0], finished: p[1] === 1, length: p[2], started: p[3] === 1 };
  });
}

// ---------------------------------------------------------------- checks

export default defineChecks([
  {
    id: "errors-einval",
    title: "the kernel says EINVAL: mmap of length 0, and an offset that is not page-aligned",
    points: 2,
    hint: "Open the file with sys.open, call sys.mmap wrongly on purpose, catch the MmapError " +
      "and return it; close the descriptor in finally.",
    run: errorCheck(["zeroLength", "unalignedOffset"]),
  },
  {
    id: "errors-eacces-ebadf",
    title: "the kernel says EACCES (write-shared on a read-only fd) and EBADF (closed fd)",
    points: 2,
    hint: "EACCES: sys.open(path, O.RDONLY) then PROT.READ | PROT.WRITE with MAP.SHARED. " +
      "EBADF: open, close, then mmap that descriptor.",
    run: errorCheck(["writableSharedOnReadOnly", "closedDescriptor"]),
  },
  {
    id: "crash-read-only",
    title: "writing to a read-only mapping kills the process",
    points: 1,
    hint: "mapFile(path) maps PROT_READ; store one byte into its bytes.",
    run: signalCheck("writeReadOnly"),
  },
  {
    id: "crash-after-munmap",
    title: "touching memory after munmap: a crash through the raw layer, harmless through Mapping",
    points: 2,
    hint: "Raw: sys.mmap, new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, len)), " +
      "sys.munmap, touch. Safe: mapAnonymous, keep m.bytes, m.unmap(), return its length.",
    async run(ctx) {
      setup();
      await signalCheck("touchAfterMunmap")(ctx);
      const safe = await ctx.run("drive.ts", { mode: "safe" } satisfies Params);
      const value = ctx.expectOk(safe, "touchAfterUnmapSafely") as { length: unknown };
      const unmapped = succeeded(safe.calls, "munmap").length > 0;
      if (value.length !== 0 || !unmapped) {
        ctx.fail("touchAfterUnmapSafely: the view after unmap() should have length 0", {
          expected: "0, after an munmap",
          observed: `${JSON.stringify(value.length)}; calls: ${
            safe.calls.map(formatCall).join("; ") || "none"
          }`,
          mistake: unmapped
            ? "return the length of the view you took from mapping.bytes before unmap()"
            : "unmap the Mapping (m.unmap()) before looking at the old view",
        });
      }
      ctx.note("through Mapping: after unmap() the old view has length 0, no crash");
    },
  },
  {
    id: "crash-past-eof",
    title: "touching a mapped page wholly past the end of the file kills the process",
    points: 1,
    hint: "The file is shorter than a page. Map two pages (allowPastEnd: true) and read byte " +
      "pageSize.",
    run: signalCheck("touchPastEnd"),
  },
  {
    id: "guard-layout",
    title:
      "allocateGuarded: a guard page on each side of the buffer, and free() unmaps it all, once",
    points: 2,
    hint: "sys.mmap (pages + 2) pages read-write, sys.mprotect the first and the last PROT.NONE, " +
      "hand out base + pageSize; free() munmaps all pages + 2, and does nothing when called again.",
    async run(ctx) {
      setup();
      // How /proc/PID/maps shows the region is a prediction: take it before looking.
      requirePrediction(ctx, (await predictionsOf(ctx)).PREDICTED_MAPS_LINES, {
        name: "PREDICTED_MAPS_LINES",
        allowed: "number",
      });
      const run = await layoutRun(ctx);
      ctx.expectOk(run.result, "allocateGuarded and free");
      const verdict = judgeLayout(run);
      if ("message" in verdict) return ctx.fail(verdict.message, verdict.details);
      ctx.note(`/proc/PID/maps around your ${run.pages}-page buffer: ${verdict.areas.join(" | ")}`);
      // free(): every one of the pages + 2 pages unmapped.
      const a = run.address!, L = BigInt(run.length!), P = BigInt(PS);
      const value = run.result.value as { freeFrom: number };
      const freeing = succeeded(run.result.calls.slice(value.freeFrom), "munmap");
      const covered = (x: bigint) =>
        freeing.some((c) => {
          const start = BigInt(String(c.args.addr));
          return start <= x && x < start + BigInt(Number(c.args.length));
        });
      const left = [a - P, a, a + L].filter((x) => !covered(x));
      if (left.length) {
        const guardsLeft = left.filter((x) => x !== a).length;
        ctx.fail("free() did not unmap the whole region", {
          expected: `munmap of ${run.pages + 2} pages from ${hexAddr(a - P)}`,
          observed: freeing.map(formatCall).join("; ") || "no munmap",
          mistake: guardsLeft && covered(a)
            ? "free() unmapped only the buffer: the two guard pages stay mapped, a leak of two " +
              "pages per buffer; munmap all pages + 2 from the region's base"
            : "forgetting munmap: free() must release the whole region",
        });
      }
      const after = describeAreas(run.mapsAfterFree ?? [], a - P, a + L + P);
      ctx.note(`after free(): ${after.length ? after.join(" | ") : "nothing mapped there"}`);
      // free() again, once another mapping has moved into the range: it must do nothing.
      const second = value as { againFrom?: number; tenant?: string | null; tenantLength?: number };
      if (second.againFrom !== undefined) {
        const unmapped = callsTo(run.result.calls.slice(second.againFrom), "munmap");
        const tenant = second.tenant ? BigInt(second.tenant) : undefined;
        const tenantNow = tenant === undefined ? [] : describeAreas(
          run.mapsAfterSecondFree ?? [],
          tenant,
          tenant + BigInt(second.tenantLength!),
        );
        if (unmapped.length) {
          ctx.fail("free() unmapped again when called a second time", {
            expected: "the second free() makes no call: the region is gone already",
            observed: unmapped.map(formatCall).join("; ") +
              (tenant === undefined
                ? ""
                : `; a new mapping had taken ${hexAddr(tenant)}, and after the second free() ` +
                  `/proc/PID/maps shows there: ${tenantNow.join(" | ") || "nothing"}`),
            mistake: "a double free: by the second call something else may live at that address" +
              (tenant === undefined ? "" : " (here a new mapping did)") +
              ", and munmap removes it without a word. Remember that free() ran, and do " +
              "nothing the second time",
          });
        }
        ctx.note("free() called again, after a new mapping took the range: it made no call");
      }
    },
  },
  {
    id: "guard-catches-overflow",
    title: "an overflow faults on the first byte past either end of the buffer",
    points: 2,
    parent: "guard-layout",
    hint: "The guards must sit right against the buffer: the page before base + pageSize and " +
      "the page after its last byte.",
    async run(ctx) {
      setup();
      const up = await overflowRun(ctx, "up");
      if (!up.started) ctx.expectOk(up.result, "allocateGuarded");
      if (up.result.signal !== "SIGSEGV" || up.last !== up.length) {
        ctx.fail("writing up past the end did not fault at the first byte after the buffer", {
          expected: `SIGSEGV at byte ${up.length} (the first byte of the upper guard)`,
          observed: up.finished
            ? `wrote past byte ${up.length} without a fault`
            : `${ended(up.result)} at byte ${up.last}`,
          mistake: up.finished
            ? "no guard page right after the buffer"
            : up.last < up.length
            ? "the fault came inside the buffer: the guard covers part of it"
            : "the guard must start right at the end of the buffer",
        });
      }
      const down = await overflowRun(ctx, "down");
      if (down.result.signal !== "SIGSEGV" || down.last !== -1) {
        ctx.fail("writing down past the start did not fault at the byte before the buffer", {
          expected: "SIGSEGV at byte -1 (the last byte of the lower guard)",
          observed: down.finished
            ? "wrote below the buffer without a fault"
            : `${ended(down.result)} at byte ${down.last}`,
          mistake: "the lower guard must be the page right before the buffer",
        });
      }
      ctx.note(
        `a child wrote bytes 0…${up.length - 1} of the buffer, then died by SIGSEGV on byte ` +
          `${up.length}; another died on byte -1`,
      );
    },
  },
  {
    id: "predictions",
    title:
      "predicted: the signal of each crash, and the lines of /proc/PID/maps for a guarded buffer",
    points: 1,
    hint: 'man 2 mmap, "Use of a mapped region can result in these signals", and man 7 signal. ' +
      "For /proc/PID/maps: one line is one area, and all of an area's pages have the same " +
      "protection. (The lesson's last section explains both: read it once you have predicted.)",
    async run(ctx) {
      setup();
      const predictions = await predictionsOf(ctx);
      const signals = (predictions.PREDICTED_SIGNALS ?? {}) as Record<string, unknown>;
      const wrong: string[] = [];
      for (const fn of SIGNAL_FUNCTIONS) {
        const predicted = requirePrediction(ctx, signals[fn], {
          name: `PREDICTED_SIGNALS.${fn}`,
          allowed: "string",
          describe: 'a signal name such as "SIGILL"',
        });
        const run = await signalRun(ctx, fn);
        if (judgeSignal(run, fn)) {
          ctx.fail(`${fn} does not crash the way it should yet: make it work first`, {
            mistake: "the prediction is compared with what the kernel did to your code",
          });
        }
        ctx.note(`${fn}: you predicted ${predicted}, the kernel sent ${run.result.signal}`);
        if (predicted !== run.result.signal) wrong.push(`${fn}: ${run.result.signal}`);
      }
      const lines = requirePrediction(ctx, predictions.PREDICTED_MAPS_LINES, {
        name: "PREDICTED_MAPS_LINES",
        allowed: "number",
      });
      const layout = judgeLayout(await layoutRun(ctx));
      if ("message" in layout) {
        return ctx.fail("allocateGuarded is not right yet: make it work first", {
          mistake: "the prediction is compared with /proc/PID/maps for your guarded buffer",
        });
      }
      ctx.note(
        `maps lines for the guarded region: you predicted ${lines}, the kernel shows ${layout.lines}`,
      );
      if (lines !== layout.lines) wrong.push(`maps lines: ${layout.lines}`);
      if (wrong.length) {
        ctx.fail(`predicted wrong: ${wrong.join(", ")}`, {
          mistake: "SIGSEGV is an access the mapping does not allow or an address nothing maps; " +
            "SIGBUS is a mapped page with no file page behind it; one mmap area with different " +
            "protections in three places is three areas",
        });
      }
    },
  },
]);
