/**
 * Checks of lab 11: machine code made at run time (W^X), and where a
 * mapping lands.
 *
 * Evidence:
 * - the bytes `patchConstant` returns, compared with the checker's own
 *   encoding of both CPUs' code (`code.ts`);
 * - for `compile`: `/proc/PID/maps` of the child, read by the checker while
 *   the child waits right before the call; what the page held, and its
 *   permissions, at the moment each `mprotect` returned (watched from inside
 *   the child by the drive); the call record (mmap → mprotect → call, every
 *   protection ever asked for); the values the code returned, for inputs and
 *   a K the checker chose; `/proc/PID/maps` again after `free()`;
 * - for placement: the `mmap` calls (addr, MAP_FIXED_NOREPLACE) with the
 *   kernel's errno, whether the drive's own mappings still hold their pattern,
 *   and `/proc/PID/maps` read by the checker;
 * - for the crashes: the child's exit signal, and the calls that led to it,
 *   written to a file call by call.
 *
 * Where the kernel profile says executable anonymous memory is refused here
 * (`ctx.kernel.execAnonymous === false`) and the student's `mprotect` to
 * read + execute was refused with EACCES or EPERM, the checks that run code
 * pass with a note saying so: the attempt is judged, the run is not.
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
  procMaps,
  PROT,
  reach,
  readFlight,
  requirePrediction,
  said,
  succeeded,
  sys,
} from "../../../lib/checker/mod.ts";
import {
  type Arch,
  ARCHES,
  expectedSum,
  hexBytes,
  patched,
  patchMistake,
  TEMPLATE,
} from "./code.ts";
import type { Params, Placement, ProtectLook, SIGNAL_FUNCTIONS, Thrown } from "./drive.ts";

type SignalName = typeof SIGNAL_FUNCTIONS[number];

/** The CPU the checks run code for. */
const ARCH: Arch = Deno.build.arch === "aarch64" ? "aarch64" : "x86_64";

/** An area of /proc/PID/maps as JSON (a run's observations are JSON). */
interface Area {
  start: string;
  end: string;
  perms: string;
}

function areasAround(pid: number, address: bigint, length: number): Area[] {
  const end = address + BigInt(length);
  return procMaps(pid).filter((e: MapsEntry) => e.end > address && e.start < end).map((e) => ({
    start: "0x" + e.start.toString(16),
    end: "0x" + e.end.toString(16),
    perms: e.perms,
  }));
}

function showAreas(areas: Area[] | undefined): string {
  if (!areas?.length) return "nothing mapped there";
  return areas.map((a) => `${a.start.slice(2)}-${a.end.slice(2)} ${a.perms}`).join(" | ");
}

function rangeOf(c: CallRecord): [bigint, bigint] | undefined {
  const at = c.call === "mmap" ? c.result : c.args.addr;
  if (typeof at !== "string" || !at.startsWith("0x") || typeof c.args.length !== "number") {
    return undefined;
  }
  const ps = BigInt(sys.pageSize());
  const start = BigInt(at);
  return [start, start + (BigInt(c.args.length) + ps - 1n) / ps * ps];
}

function covers(c: CallRecord, address: bigint): boolean {
  const r = rangeOf(c);
  return r !== undefined && r[0] <= address && address < r[1];
}

const WX = PROT.WRITE | PROT.EXEC;

function prot(c: CallRecord): number {
  return typeof c.args.prot === "number" ? c.args.prot : 0;
}

function ended(result: ChildResult): string {
  if (result.outcome === "signal") return `killed by ${result.signal}`;
  if (result.outcome === "ok") return "ran to the end";
  if (result.outcome === "threw") return `threw ${result.error?.name}: ${result.error?.message}`;
  return result.outcome;
}

function showCall(c: CallRecord): string {
  // A call into code is recorded as it starts: one the process never came back from has no result.
  return c.call === "call" && c.result === null
    ? `${formatCall(c).replace(/ = null$/, "")} (never returned)`
    : formatCall(c);
}

/**
 * Whether this machine refuses executable anonymous memory (the kernel
 * profile says so) and the calls show the student's attempt refused by it.
 */
function refusedHere(ctx: CheckContext, calls: readonly CallRecord[]): CallRecord | undefined {
  if (ctx.kernel.execAnonymous !== false) return undefined;
  return calls.find((c) =>
    c.call === "mprotect" && (prot(c) & PROT.EXEC) !== 0 && (prot(c) & PROT.WRITE) === 0 &&
    (c.error === "EACCES" || c.error === "EPERM")
  );
}

/** The note of a check skipped (passed) because this system refuses executable memory. */
function skipNote(refused: CallRecord, consequence: string): string {
  return `your system refuses executable anonymous memory (deno task lab doctor): ` +
    `${formatCall(refused)}, so ${consequence}`;
}

// ---------------------------------------------------------------- the JIT run

interface JitValue {
  patches: { arch: Arch; k: number; bytes?: number[]; error?: Thrown }[];
  labCode: Record<Arch, number[] | null>;
  looks: ProtectLook[];
  predictions: Record<string, unknown>;
  compileFrom: number;
  compileTo?: number;
  compileError?: Thrown;
  address?: string;
  callFrom?: number;
  results?: (number | string)[];
  freeFrom?: number;
  freeTo?: number;
  freeError?: Thrown;
}

interface JitRun {
  result: ChildResult;
  value?: JitValue;
  /** What patchConstant returned, kept at the first checkpoint (before compile could crash). */
  patched?: Pick<JitValue, "patches" | "labCode">;
  code: number[];
  k: number;
  ks: number[];
  pairs: [number, number][];
  /** Calls up to the crash, for a child that died: written call by call. */
  flight: CallRecord[];
  /** The address compile() returned, from the checkpoint (also when the child died later). */
  address?: string;
  /** /proc/PID/maps around the code while the child waited right before calling it. */
  atCall?: Area[];
  /** The same, once free() had returned. */
  afterFree?: Area[];
}

function jitRun(ctx: CheckContext): Promise<JitRun> {
  return ctx.once("jit", async () => {
    const k = ctx.random.int(-(2 ** 31), 2 ** 31 - 1);
    const ks = [
      ctx.random.int(256, 2 ** 31 - 1), // more than one byte
      -ctx.random.int(1, 2 ** 31), // negative: two's complement
      ctx.random.int(1, 255),
    ];
    const pairs: [number, number][] = [
      [ctx.random.int(-1000, 1000), ctx.random.int(-1000, 1000)],
      [ctx.random.int(0, 2 ** 31 - 1), ctx.random.int(0, 2 ** 31 - 1)], // may wrap around
      [0, 0],
    ];
    const code = Array.from(patched(ARCH, k));
    const flightPath = `${ctx.scratch}/jit.flight.jsonl`;
    const params = { mode: "jit", code, ks, pairs, flight: flightPath } satisfies Params;
    const child = ctx.spawn("drive.ts", params);
    const run: JitRun = {
      result: undefined as unknown as ChildResult,
      code,
      k,
      ks,
      pairs,
      flight: [],
    };
    const first = await child.checkpoint();
    if (first?.name === "patched") {
      run.patched = first.data as JitRun["patched"];
      await child.resume();
    }
    const compiled = first?.name === "patched" ? await child.checkpoint() : undefined;
    if (compiled?.name === "compiled") {
      const data = compiled.data as { address: string; length: number };
      run.address = data.address;
      run.atCall = areasAround(child.pid, BigInt(data.address), data.length);
      await child.resume();
      const freed = await child.checkpoint();
      if (freed?.name === "freed") {
        run.afterFree = areasAround(child.pid, BigInt(data.address), data.length);
        await child.resume();
      }
    }
    run.result = await child.result();
    run.flight = readFlight(flightPath);
    if (run.result.outcome === "ok") run.value = run.result.value as JitValue;
    return run;
  });
}

/** Every call the child made, from the in-memory record or, if it died, the flight file. */
function allCalls(run: JitRun): CallRecord[] {
  return run.result.outcome === "ok" ? run.result.calls : run.flight;
}

/** Why compile() or the call failed, as a check failure; undefined when the code ran. */
function judgeRun(
  ctx: CheckContext,
  run: JitRun,
): { message: string; details: FailureDetails } | "refused" | undefined {
  const calls = allCalls(run);
  const shown = calls.filter((c) => ["mmap", "mprotect", "munmap", "call"].includes(c.call))
    .map(showCall).join("; ") || "no calls";
  const fail = (message: string, mistake: string, expected?: string) => ({
    message,
    details: { expected, observed: `your calls: ${shown}`, mistake },
  });
  const v = run.value;
  if (v?.compileError) {
    const e = v.compileError;
    if (refusedHere(ctx, calls) && e.syscall === "mprotect") return "refused";
    if (e.name === "NotExecutableError") {
      return fail(
        `compile threw NotExecutableError: ${e.message}`,
        "executing before mprotect: asFunction (and every call) needs the mapping made " +
          'executable first. Store the code, protect("readexec"), then asFunction',
      );
    }
    if (e.syscall === "mprotect" && (e.code === "EACCES" || e.code === "EPERM")) {
      return fail(
        `compile threw: mprotect refused PROT_EXEC (${e.code})`,
        ctx.kernel.execAnonymous === false
          ? "this system refuses executable memory (deno task lab doctor), and the check is " +
            "skipped there only for mprotect(…, PROT_READ|PROT_EXEC): never ask for PROT_WRITE " +
            "with PROT_EXEC"
          : "not your code if your mprotect asked for PROT_READ|PROT_EXEC: a security policy " +
            "refuses executable memory, but the kernel profile says it is allowed here; run " +
            "deno task lab doctor --fresh",
      );
    }
    return fail(`compile threw ${e.name}: ${e.message}`, "compile must return the function");
  }
  const r = run.result;
  if (r.outcome === "threw") {
    const name = r.error?.name ?? "";
    if (name === "NotExecutableError") {
      return fail(
        `calling the code threw NotExecutableError: ${r.error?.message}`,
        "executing before mprotect: the mapping was not executable when call() ran; " +
          'protect("readexec") inside compile, after the store',
      );
    }
    if (name === "MappingClosedError") {
      return fail(
        "calling the code threw MappingClosedError: it was unmapped already",
        "unmap in free(), not in compile: the code must stay mapped while it can be called",
      );
    }
    return fail(`${ended(r)}`, "compile(code) must return { address, call(a, b), free() }");
  }
  if (r.outcome === "signal") {
    const perms = run.atCall?.find((a) => BigInt(a.start) <= BigInt(run.address!))?.perms;
    if (run.address !== undefined && perms !== undefined && !perms.includes("x")) {
      return fail(
        `killed by ${r.signal} calling the code: its page was ${perms} at the moment of the call ` +
          "(/proc/PID/maps), not executable",
        "executing before mprotect: the CPU fetches no instruction from a page without PROT_EXEC. " +
          'Store the code, protect("readexec"), then call it',
        "r-x at the call",
      );
    }
    const stored = calls.some((c) => c.call === "mprotect" && !c.error && (prot(c) & PROT.EXEC));
    const lost = calls.findIndex((c) => c.call === "call" && c.result === null);
    if (lost >= 0) {
      const target = BigInt(String(calls[lost].args.addr));
      const sealed = calls.slice(0, lost).some((c) =>
        c.call === "mprotect" && !c.error && (prot(c) & PROT.EXEC) !== 0 && covers(c, target)
      );
      if (!sealed) {
        return fail(
          `killed by ${r.signal} in a call into the code, which never returned: no mprotect had ` +
            "made its page executable before it",
          "executing before mprotect: the CPU fetches no instruction from a page without " +
            'PROT_EXEC. Store the code, protect("readexec"), and only then call it',
        );
      }
    }
    return fail(
      `${ended(r)} ${run.address === undefined ? "inside compile" : "running the code"}`,
      run.address === undefined && stored
        ? "a store into the code after mprotect(PROT_READ|PROT_EXEC): copy the code in first, " +
          "while the page is writable"
        : run.address === undefined
        ? "the code ran before mprotect made it executable (a raw call inside compile?), or " +
          "memory was used after munmap"
        : "the code the checker gave you ran wrongly: did you copy all of it, from byte 0, and " +
          "call its first byte?",
    );
  }
  if (r.outcome !== "ok" || !v) {
    return fail(ended(r), "compile(code) must return { address, call(a, b), free() }");
  }
  const wrong = run.pairs.map(([a, b], i) => ({
    a,
    b,
    got: v.results?.[i],
    want: expectedSum(a, b, run.k),
  }))
    .filter((x) => x.got !== x.want);
  if (wrong.length) {
    const w = wrong[0];
    return {
      message: `call(${w.a}, ${w.b}) returned ${w.got}, not ${w.want}`,
      details: {
        expected: `a + b + K with K = ${run.k} (the code the checker gave compile)`,
        observed: wrong.map((x) => `call(${x.a}, ${x.b}) = ${x.got}`).join(", "),
        mistake: "call(a, b) must return what the code returns: pass a and b through to the " +
          "function asFunction made, in that order",
      },
    };
  }
  return undefined;
}

function requireRan(ctx: CheckContext, run: JitRun): "refused" | undefined {
  const problem = judgeRun(ctx, run);
  if (problem === "refused" || problem === undefined) return problem;
  return ctx.fail(problem.message, problem.details);
}

/** The code's mmap, its mprotect to execute, the first call: the order and W^X. */
function judgeOrder(
  ctx: CheckContext,
  run: JitRun,
  refused: boolean,
): { chain: string[] } {
  const calls = allCalls(run);
  const v = run.value!;
  const from = v.compileFrom;
  const address = run.address !== undefined
    ? BigInt(run.address)
    : BigInt(String(succeeded(calls.slice(from), "mmap").at(-1)?.result ?? "0x0"));
  const mine = calls.map((c, i) => ({ c, i })).filter(({ c, i }) =>
    i >= from && ["mmap", "mprotect"].includes(c.call) && covers(c, address)
  );
  const shown = mine.map(({ c }) => formatCall(c)).join("; ") || "none";
  const wx = mine.find(({ c }) => (prot(c) & WX) === WX);
  if (wx) {
    ctx.fail("the code's memory was writable and executable at once", {
      expected: "never PROT_WRITE and PROT_EXEC together (W^X)",
      observed: formatCall(wx.c),
      mistake: "writable and executable at once: map it PROT_READ|PROT_WRITE, store the code, " +
        "then mprotect it to PROT_READ|PROT_EXEC. A page that is both lets any bug (or attacker) " +
        "that can write memory write code",
    });
  }
  const mapped = mine.find(({ c }) => c.call === "mmap" && !c.error);
  if (!mapped) {
    ctx.fail("no mmap of the code's memory in the call record", {
      observed: `calls over ${run.address ?? "the code"}: ${shown}`,
      mistake: "map fresh memory for the code with mapAnonymous (or sys.mmap)",
    });
  }
  if (!hasFlag(mapped.c, "MAP_ANONYMOUS") || (prot(mapped.c) & PROT.EXEC) !== 0) {
    ctx.fail("the code's memory was not mapped as anonymous, read-write memory", {
      expected: "mmap(NULL, …, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)",
      observed: formatCall(mapped.c),
      mistake: "map it read-write first (mapAnonymous(length)): executable comes after the store",
    });
  }
  const sealed = mine.find(({ c, i }) =>
    c.call === "mprotect" && i > mapped.i && (prot(c) & PROT.EXEC) !== 0 &&
    (refused ? c.error !== undefined : !c.error)
  );
  if (!sealed) {
    ctx.fail("no mprotect made the code's memory executable", {
      expected: "mprotect(addr, length, PROT_READ|PROT_EXEC) after the store",
      observed: `calls over ${run.address ?? "the code"}: ${shown}`,
      mistake: 'protect("readexec") once the code is in',
    });
  }
  // The store: what the page held the moment mprotect returned.
  const look = v.looks.find((l) => l.at === sealed.i);
  const offset = Number(address - BigInt(String(sealed.c.args.addr)));
  const want = hexBytes(run.code);
  const held = look?.bytes?.split(" ").slice(offset, offset + run.code.length).join(" ");
  if (held !== want) {
    ctx.fail("the page did not hold the code when mprotect made it executable", {
      expected: `bytes ${want} at ${run.address}`,
      observed: look?.bytes === undefined
        ? `the page could not be read then (${look?.perms ?? "not mapped"})`
        : `${held ?? "nothing"}`,
      mistake: "the store comes first: copy the code into the mapping while it is writable, " +
        "then mprotect it (a store after that is a SIGSEGV)",
    });
  }
  const chain = [
    formatCall(mapped.c),
    `store: the page held the ${run.code.length} bytes of code when mprotect returned`,
    formatCall(sealed.c),
  ];
  if (refused) return { chain };
  // The call: the page was r-x, not writable, when it ran.
  const atCall = run.atCall?.find((a) => BigInt(a.start) <= address && address < BigInt(a.end));
  if (!atCall || atCall.perms[2] !== "x" || atCall.perms[1] === "w") {
    ctx.fail(`the code's page was ${atCall?.perms ?? "not mapped"} at the moment of the call`, {
      expected: "r-x (readable, executable, not writable) in /proc/PID/maps",
      observed: showAreas(run.atCall),
      mistake: atCall?.perms[1] === "w"
        ? "writable and executable at once: drop PROT_WRITE when you add PROT_EXEC"
        : "make it executable before it is called",
    });
  }
  const callFrom = v.callFrom ?? calls.length;
  const hex = "0x" + address.toString(16);
  const firstCall = calls.findIndex((c, i) => i >= callFrom && c.call === "call");
  if (firstCall < 0) {
    ctx.fail("no call into the code is in the call record", {
      expected: `call(${hex}, a, b) in the record`,
      observed: "call(a, b) returned the right values without a recorded call",
      mistake: "call the code through the function mapping.asFunction(ADD_SIGNATURE) returns " +
        "(the call record shows each call)",
    });
  }
  const between = calls.slice(callFrom, firstCall).filter((c) =>
    ["mmap", "mprotect", "munmap"].includes(c.call) && covers(c, address)
  );
  if (between.length) {
    ctx.fail("the code's memory changed between the look at /proc/PID/maps and the call", {
      observed: between.map(formatCall).join("; "),
      mistake: "call() should only call: make the code executable once, in compile",
    });
  }
  if (calls[firstCall].args.addr !== hex) {
    ctx.fail(`the call went to ${calls[firstCall].args.addr}, not to the code at ${hex}`, {
      mistake: "call the first byte of the code (asFunction with offset 0)",
    });
  }
  chain.push(`${formatCall(calls[firstCall])}, the page ${atCall.perms} in /proc/PID/maps`);
  return { chain };
}

// ---------------------------------------------------------------- placement

interface PlaceValue {
  hintFree: Placement;
  hintTaken: Placement;
  exactFree: Placement;
  exactTaken: Placement;
  length: number;
}

interface PlaceRun {
  result: ChildResult;
  value?: PlaceValue;
  /** /proc/PID/maps around each address asked for, while the child waited. */
  areas?: Record<string, Area[]>;
}

function placeRun(ctx: CheckContext): Promise<PlaceRun> {
  return ctx.once("place", async () => {
    const pages = ctx.random.int(1, 4);
    const child = ctx.spawn("drive.ts", { mode: "place", pages } satisfies Params);
    const run: PlaceRun = { result: undefined as unknown as ChildResult };
    const placed = await child.checkpoint();
    if (placed?.name === "placed") {
      const v = placed.data as PlaceValue;
      run.areas = {};
      for (const p of [v.hintFree, v.hintTaken, v.exactFree, v.exactTaken]) {
        run.areas[p.asked] = areasAround(child.pid, BigInt(p.asked), v.length);
      }
      await child.resume();
    }
    run.result = await child.result();
    if (run.result.outcome === "ok") run.value = run.result.value as PlaceValue;
    return run;
  });
}

function mmapsOf(run: PlaceRun, p: Placement): CallRecord[] {
  return callsTo(run.result.calls.slice(p.from, p.to), "mmap");
}

function placementShown(run: PlaceRun, p: Placement): string {
  const calls = mmapsOf(run, p).map(formatCall).join("; ") || "no mmap";
  const outcome = p.error
    ? `threw ${p.error.name} ${p.error.code ?? ""}`.trim()
    : p.address !== undefined
    ? `a mapping at ${p.address}`
    : `returned ${p.returned}`;
  return `${calls} → ${outcome}`;
}

function requirePlaced(ctx: CheckContext, run: PlaceRun): PlaceValue {
  ctx.expectOk(run.result, "mapWithHint and mapExactly");
  return run.value!;
}

// ---------------------------------------------------------------- the crash runs

interface SignalRun {
  result: ChildResult;
  flight: CallRecord[];
}

function signalRun(ctx: CheckContext, fn: SignalName): Promise<SignalRun> {
  return ctx.once(`signal-${fn}`, async () => {
    const code = Array.from(patched(ARCH, ctx.random.int(1, 1000)));
    const flight = `${ctx.scratch}/${fn}.flight.jsonl`;
    const result = await ctx.run("drive.ts", { mode: "signal", fn, code, flight } satisfies Params);
    return { result, flight: readFlight(flight) };
  });
}

/** Whether a crash function ended as it should, and why not. */
function judgeSignal(
  ctx: CheckContext,
  run: SignalRun,
  fn: SignalName,
): { message: string; details: FailureDetails } | "refused" | undefined {
  const { result, flight } = run;
  const shown = flight.filter((c) => ["mmap", "mprotect", "munmap", "call"].includes(c.call))
    .map(showCall).join("; ") || "no calls";
  const fail = (message: string, mistake: string) => ({
    message: `${fn}: ${message}`,
    // Not the signal's name: that is the prediction (predict-signals), and this shows before it.
    details: {
      expected: "the process killed by the kernel",
      observed: `${ended(result)}; calls: ${shown}`,
      mistake,
    },
  });
  const exec = flight.filter((c) => c.call === "mprotect" && !c.error && (prot(c) & PROT.EXEC));
  if (fn === "callWithoutExec") {
    const made = succeeded(flight, "mmap").find((c) => !(prot(c) & PROT.EXEC));
    const called = flight.some((c) => c.call === "call");
    if (result.signal === "SIGSEGV" && made && called && !exec.length) return undefined;
    if (result.outcome === "threw" && result.error?.name === "NotExecutableError") {
      return fail(
        "the library refused the call (NotExecutableError)",
        "asFunction never jumps into a page without PROT_EXEC: that is its job. To meet the " +
          "kernel's answer, call through the raw layer: sys.functionAt(memory.address, " +
          "ADD_SIGNATURE)(1, 2)",
      );
    }
    if (exec.length) {
      return fail(
        "the page was made executable before the call",
        "call the code while the page is still read-write: no mprotect to PROT_EXEC",
      );
    }
    if (succeeded(flight, "mmap").some((c) => prot(c) & PROT.EXEC)) {
      return fail(
        "the memory was mapped executable (PROT_EXEC)",
        "map it read-write (mapAnonymous(length)): the point is a page without PROT_EXEC",
      );
    }
    if (!called) {
      return fail(
        result.outcome === "ok" ? "no call into the code was made" : ended(result),
        "store the code in read-write memory and call it through sys.functionAt",
      );
    }
    return fail(ended(result), "store the code in read-write memory and call it there");
  }
  // writeAfterSeal
  const refused = refusedHere(ctx, flight);
  if (refused && result.outcome === "threw" && result.error?.code === refused.error) {
    return "refused";
  }
  if (result.signal === "SIGSEGV" && exec.some((c) => !(prot(c) & PROT.WRITE))) return undefined;
  if (result.outcome === "ok") {
    return fail(
      exec.length ? "no fault: the store went through" : "no fault, and no mprotect to execute",
      exec.some((c) => prot(c) & PROT.WRITE)
        ? "the page stayed writable (PROT_WRITE with PROT_EXEC): seal it PROT_READ|PROT_EXEC"
        : exec.length
        ? "store a byte into the code's page after the mprotect (memory.bytes[0] = …)"
        : 'protect("readexec"), then store a byte into the page',
    );
  }
  if (result.signal === "SIGSEGV") {
    return fail(
      "SIGSEGV, but no mprotect to PROT_READ|PROT_EXEC came before it",
      'the store must hit a page made read + execute: protect("readexec") first',
    );
  }
  return fail(ended(result), 'map, store the code, protect("readexec"), then store one byte');
}

const SIGNAL_ANSWERS = ["SIGSEGV", "SIGBUS", "SIGILL"] as const;

/**
 * The student's prediction of how `fn` ends, read from the one run that calls
 * none of their functions; a check that shows how `fn` ended takes it first.
 */
async function predictedSignal(ctx: CheckContext, fn: SignalName) {
  const demo = await fixedRun(ctx);
  ctx.expectOk(demo.result, "reading your predictions");
  const predictions = demo.value!.predictions.PREDICTED_SIGNALS as
    | Record<string, unknown>
    | undefined;
  return requirePrediction(ctx, predictions?.[fn], {
    name: `PREDICTED_SIGNALS.${fn}`,
    allowed: SIGNAL_ANSWERS,
  });
}

// ---------------------------------------------------------------- the MAP_FIXED demonstration

interface FixedDemo {
  call: string;
  sameAddress: boolean;
  error?: Thrown;
  before: number;
  after: number[];
  predictions: Record<string, unknown>;
}

interface FixedRun {
  result: ChildResult;
  value?: FixedDemo;
  before?: Area[];
  after?: Area[];
}

function fixedRun(ctx: CheckContext): Promise<FixedRun> {
  return ctx.once("fixed-demo", async () => {
    const child = ctx.spawn("drive.ts", { mode: "fixed-demo" } satisfies Params);
    const run: FixedRun = { result: undefined as unknown as ChildResult };
    const before = await reach(ctx, child, "before", "the MAP_FIXED demonstration");
    const address = BigInt((before as { address: string }).address);
    const ps = sys.pageSize();
    run.before = areasAround(child.pid, address, ps);
    await child.resume();
    if ((await child.checkpoint())?.name === "after") {
      run.after = areasAround(child.pid, address, ps);
      await child.resume();
    }
    run.result = await child.result();
    if (run.result.outcome === "ok") run.value = run.result.value as FixedDemo;
    return run;
  });
}

const FIXED_ANSWERS = ["EEXIST", "elsewhere", "replaced"] as const;

// ---------------------------------------------------------------- checks

export default defineChecks([
  {
    id: "patches-constant",
    title: "patchConstant writes K where the code keeps it, on both CPUs",
    points: 2,
    hint: "K is a little-endian int32: at byte 4 of the x86-64 code (the imm32 after the opcode " +
      "05), at byte 16 of the aarch64 code (the word after ret). Copy the code, then " +
      "new DataView(copy.buffer).setInt32(at, k, true).",
    async run(ctx: CheckContext) {
      const run = await jitRun(ctx);
      if (!run.patched) ctx.expectOk(run.result, "patchConstant");
      const v = run.patched!;
      for (const arch of ARCHES) {
        const lab = v.labCode[arch];
        if (!lab || hexBytes(lab) !== hexBytes(TEMPLATE[arch].bytes)) {
          ctx.fail(`ADD_CODE.${arch} is not the lab's code`, {
            expected: hexBytes(TEMPLATE[arch].bytes),
            observed: lab ? hexBytes(lab) : "missing",
            mistake: "keep ADD_CODE as the lab gives it: patch copies of it",
          });
        }
      }
      for (const p of v.patches) {
        if (p.error || !p.bytes) {
          ctx.fail(
            `patchConstant("${p.arch}", ${p.k}) threw ${p.error?.name}: ${p.error?.message}`,
            {
              mistake: "return a patched copy of ADD_CODE[arch], a Uint8Array",
            },
          );
        }
        const mistake = patchMistake(p.arch, p.k, p.bytes);
        if (mistake) {
          ctx.fail(`patchConstant("${p.arch}", ${p.k}) returned the wrong bytes`, {
            expected: hexBytes(patched(p.arch, p.k)),
            observed: hexBytes(p.bytes),
            mistake,
          });
        }
      }
      ctx.note(
        `x86-64: K = ${run.ks[0]} is ${hexBytes(patched("x86_64", run.ks[0]).subarray(4, 8))} ` +
          `at bytes 4-7 (the imm32 of add eax, imm32); aarch64: the same 4 bytes at 16-19, the ` +
          "word ldr w2, #16 loads",
      );
    },
  },
  {
    id: "runs-code",
    title: "compile makes the code callable: it returns a + b + K",
    points: 2,
    hint: 'mapAnonymous(code.length), memory.bytes.set(code), memory.protect("readexec"), ' +
      "then memory.asFunction(ADD_SIGNATURE); call(a, b) calls that function.",
    async run(ctx: CheckContext) {
      const run = await jitRun(ctx);
      const refused = requireRan(ctx, run);
      if (refused) {
        ctx.note(
          skipNote(
            refusedHere(ctx, allCalls(run))!,
            "the code did not become runnable and this check is skipped (your mprotect asked for " +
              "read + execute, as it should)",
          ),
        );
        return;
      }
      ctx.note(
        `K = ${run.k}: ` + run.pairs.map(([a, b], i) =>
          `call(${a}, ${b}) = ${run.value!.results![i]}`
        )
          .join(", ") +
          (ARCH === "aarch64" ? " (aarch64)" : " (x86-64)"),
      );
    },
  },
  {
    id: "w-xor-x",
    title:
      "never writable and executable: mmap (rw-) → store → mprotect (r-x) → call, r-x at the call",
    points: 2,
    parent: "runs-code",
    hint: "Map it PROT_READ|PROT_WRITE (no PROT_EXEC), store the code, mprotect it " +
      "PROT_READ|PROT_EXEC (no PROT_WRITE), and only then call it.",
    async run(ctx: CheckContext) {
      const run = await jitRun(ctx);
      const refused = requireRan(ctx, run) === "refused";
      const { chain } = judgeOrder(ctx, run, refused);
      ctx.note(chain.join(" → "));
      if (refused) {
        ctx.note(
          skipNote(
            refusedHere(ctx, allCalls(run))!,
            "the call, and /proc/PID/maps at the call, are skipped; the order up to mprotect " +
              "was judged",
          ),
        );
      }
    },
  },
  {
    id: "frees-code",
    title: "free() unmaps the code: /proc/PID/maps shows nothing there afterwards",
    points: 1,
    parent: "runs-code",
    hint: "free: () => memory.unmap()",
    async run(ctx: CheckContext) {
      const run = await jitRun(ctx);
      if (requireRan(ctx, run) === "refused") {
        ctx.note(
          skipNote(
            refusedHere(ctx, allCalls(run))!,
            "compile returned nothing to free: this check is skipped",
          ),
        );
        return;
      }
      const v = run.value!;
      if (v.freeError) {
        ctx.fail(`free() threw ${v.freeError.name}: ${v.freeError.message}`, {
          mistake: "free() unmaps the code's mapping, once",
        });
      }
      const address = BigInt(run.address!);
      const unmapped = succeeded(run.result.calls.slice(v.freeFrom, v.freeTo), "munmap")
        .filter((c) => covers(c, address));
      const still = run.afterFree?.some((a) =>
        BigInt(a.start) <= address && address < BigInt(a.end)
      );
      if (!unmapped.length) {
        ctx.fail("free() did not unmap the code", {
          expected: `munmap(${run.address}, …) in free()`,
          observed: `after free(): ${showAreas(run.afterFree)}; calls in free(): ${
            run.result.calls.slice(v.freeFrom, v.freeTo).map(formatCall).join("; ") || "none"
          }`,
          mistake: still
            ? "forgetting to unmap: the code page stays mapped (r-x) for as long as the process " +
              "lives; free() must call memory.unmap()"
            : "unmap the code's own mapping in free()",
        });
      }
      ctx.note(
        `${unmapped.map(formatCall).join("; ")}; then /proc/PID/maps at ${run.address}: ` +
          showAreas(run.afterFree),
      );
    },
  },
  {
    id: "hint",
    title:
      "mapWithHint passes the address as a hint: taken if free, ignored if not, nothing replaced",
    points: 1,
    hint: "mapAnonymous(length, { address }): mmap(addr, …) without MAP_FIXED.",
    async run(ctx: CheckContext) {
      const run = await placeRun(ctx);
      const v = requirePlaced(ctx, run);
      // The taken range first: what a wrong flag does there is the lesson.
      for (const [p, taken] of [[v.hintTaken, true], [v.hintFree, false]] as const) {
        const observed = placementShown(run, p);
        const mmaps = mmapsOf(run, p);
        const asked = mmaps.find((c) => c.args.addr === p.asked);
        if (p.error) {
          ctx.fail(`mapWithHint(${p.asked}) threw ${p.error.name} ${p.error.code ?? ""}`.trim(), {
            observed,
            mistake: p.error.code === "EEXIST"
              ? "a hint never fails: without MAP_FIXED_NOREPLACE (exact) the kernel puts the " +
                "mapping elsewhere when the range is taken"
              : "map anonymous memory with the address as a hint",
          });
        }
        if (!asked) {
          ctx.fail(`mapWithHint(${p.asked}) did not pass the address to mmap`, {
            expected: `mmap(${p.asked}, …)`,
            observed,
            mistake: "pass it: mapAnonymous(length, { address })",
          });
        }
        if (hasFlag(asked, "MAP_FIXED") || hasFlag(asked, "MAP_FIXED_NOREPLACE")) {
          ctx.fail(`mapWithHint(${p.asked}) asked for a fixed address`, {
            observed,
            mistake: hasFlag(asked, "MAP_FIXED") && taken && p.intact === false
              ? "MAP_FIXED: it replaced the checker's mapping there. A hint is mmap(addr, …) " +
                "with neither MAP_FIXED nor MAP_FIXED_NOREPLACE"
              : "a hint is mmap(addr, …) with neither MAP_FIXED nor MAP_FIXED_NOREPLACE",
          });
        }
        if (taken && (p.intact === false || p.address === p.asked)) {
          ctx.fail("mapWithHint replaced the checker's mapping", {
            observed,
            mistake: "a hint must never replace a mapping: no MAP_FIXED",
          });
        }
      }
      ctx.note(
        `free range: asked ${v.hintFree.asked}, the kernel ${
          v.hintFree.address === v.hintFree.asked
            ? "took the hint"
            : `put it at ${v.hintFree.address} (a hint may be ignored)`
        }; taken range: asked ${v.hintTaken.asked}, got ${v.hintTaken.address}, the checker's ` +
          "mapping there untouched",
      );
    },
  },
  {
    id: "fixed-noreplace",
    title: "mapExactly maps exactly there, and fails with EEXIST (MAP_FIXED_NOREPLACE) where a " +
      "mapping is",
    points: 2,
    hint: "mapAnonymous(length, { address, exact: true }); let the MmapError EEXIST through.",
    async run(ctx: CheckContext) {
      const run = await placeRun(ctx);
      const v = requirePlaced(ctx, run);
      const free = v.exactFree, taken = v.exactTaken;
      const takenShown = placementShown(run, taken);
      const takenCalls = mmapsOf(run, taken);
      // Where the checker's data was: the worst outcome first.
      if (
        taken.intact === false || (taken.address !== undefined && taken.address === taken.asked)
      ) {
        const fixed = takenCalls.some((c) => hasFlag(c, "MAP_FIXED"));
        ctx.fail(`mapExactly(${taken.asked}) replaced the checker's mapping there`, {
          expected: "mmap fails with EEXIST, and the checker's data stays",
          observed: `${takenShown}; the checker's ${v.length} bytes of 0x5a ${
            taken.intact ? "are still there" : "are gone"
          }; /proc/PID/maps there: ${showAreas(run.areas?.[taken.asked])}`,
          mistake: fixed
            ? "MAP_FIXED where MAP_FIXED_NOREPLACE was asked: MAP_FIXED silently unmaps whatever " +
              "was in the range and maps over it. mapAnonymous(length, { address, exact: true }) " +
              "fails with EEXIST instead"
            : "never map over a mapping that is there: MAP_FIXED_NOREPLACE fails with EEXIST",
        });
      }
      if (!taken.error) {
        ctx.fail(`mapExactly(${taken.asked}) did not fail where a mapping is`, {
          expected: "MmapError EEXIST from mmap with MAP_FIXED_NOREPLACE",
          observed: takenShown,
          mistake: taken.address !== undefined
            ? "the kernel put it elsewhere: that is a hint. Exactly-or-fail is MAP_FIXED_NOREPLACE " +
              "(exact: true)"
            : "let the MmapError through (do not catch it and return something else)",
        });
      }
      const refusal = takenCalls.find((c) =>
        c.error === "EEXIST" && c.args.addr === taken.asked && hasFlag(c, "MAP_FIXED_NOREPLACE")
      );
      if (taken.error.code !== "EEXIST" || !refusal) {
        ctx.fail(`mapExactly(${taken.asked}) threw ${taken.error.name} ${taken.error.code ?? ""}`, {
          expected:
            `mmap(${taken.asked}, …, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE, -1, 0) ` +
            "= MAP_FAILED EEXIST, from the kernel",
          observed: takenShown,
          mistake: "ask the kernel with MAP_FIXED_NOREPLACE at exactly that address " +
            "(mapAnonymous(length, { address, exact: true })) and let its EEXIST through",
        });
      }
      const freeCalls = mmapsOf(run, free);
      if (free.error || free.address !== free.asked) {
        ctx.fail(`mapExactly(${free.asked}) did not map exactly there, where nothing was`, {
          expected: `a mapping at ${free.asked}`,
          observed: `${placementShown(run, free)}; /proc/PID/maps there: ${
            showAreas(run.areas?.[free.asked])
          }`,
          mistake:
            "mapAnonymous(length, { address, exact: true }) maps there when the range is free",
        });
      }
      if (!freeCalls.some((c) => !c.error && hasFlag(c, "MAP_FIXED_NOREPLACE"))) {
        ctx.fail("mapExactly did not use MAP_FIXED_NOREPLACE", {
          observed: placementShown(run, free),
          mistake: "the kernel took a hint this time; ask for exactly-or-fail: exact: true",
        });
      }
      ctx.note(`${formatCall(refusal)}; the checker's mapping there kept its data`);
      ctx.note(`free range: ${placementShown(run, free)}`);
    },
  },
  {
    id: "predict-map-fixed",
    title: "predicted what MAP_FIXED does where a mapping already is",
    points: 1,
    hint: "MAP_FIXED_NOREPLACE was added (Linux 4.17) because of what plain MAP_FIXED does.",
    async run(ctx: CheckContext) {
      const run = await fixedRun(ctx);
      ctx.expectOk(run.result, "the checker's demonstration");
      const v = run.value!;
      const predicted = requirePrediction(ctx, v.predictions.PREDICTED_MAP_FIXED, {
        name: "PREDICTED_MAP_FIXED",
        allowed: FIXED_ANSWERS,
      });
      const happened = v.error
        ? (v.error.code === "EEXIST" ? "EEXIST" : `an error ${v.error.code}`)
        : !v.sameAddress
        ? "elsewhere"
        : v.after.length === 1 && v.after[0] === v.before
        ? "kept"
        : "replaced";
      if (predicted !== happened) {
        ctx.fail(`your prediction ${said(predicted)} differs from what the kernel did`, {
          mistake: 'read the lesson\'s last section, "After your predictions", and man 2 mmap ' +
            "(MAP_FIXED): the kernel did what it did to the checker's own mapping",
          expected: said(happened),
          observed: said(predicted),
        });
      }
      ctx.note(
        `the checker's page held 0x${v.before.toString(16)} in every byte; ${v.call}; it reads ` +
          `${v.after.map((b) => "0x" + b.toString(16)).join(", ")} now: ${happened}`,
      );
      ctx.note(
        `/proc/PID/maps before: ${showAreas(run.before)}; after: ${showAreas(run.after)} ` +
          "(the same range, a new, empty mapping)",
      );
    },
  },
  {
    id: "dies-without-exec",
    title: "calling code in a page without PROT_EXEC: the process dies",
    points: 1,
    hint: "Map read-write, store the code, and call it through sys.functionAt(address, " +
      "ADD_SIGNATURE) without mprotect: asFunction would refuse.",
    async run(ctx: CheckContext) {
      await predictedSignal(ctx, "callWithoutExec"); // how it ends is the answer: predict first
      const run = await signalRun(ctx, "callWithoutExec");
      const problem = judgeSignal(ctx, run, "callWithoutExec");
      if (problem && problem !== "refused") ctx.fail(problem.message, problem.details);
      ctx.note(`callWithoutExec: ${run.flight.map(showCall).join("; ")} → ${run.result.signal}`);
    },
  },
  {
    id: "dies-writing-code",
    title: "storing into the code after mprotect to read + execute: the process dies",
    points: 1,
    hint: 'Map, store, protect("readexec"), then store one more byte: memory.bytes[0] = 0xc3.',
    async run(ctx: CheckContext) {
      await predictedSignal(ctx, "writeAfterSeal"); // how it ends is the answer: predict first
      const run = await signalRun(ctx, "writeAfterSeal");
      const problem = judgeSignal(ctx, run, "writeAfterSeal");
      if (problem === "refused") {
        ctx.note(
          skipNote(
            refusedHere(ctx, run.flight)!,
            "no page became read + execute to store into: this check is skipped",
          ),
        );
        return;
      }
      if (problem) ctx.fail(problem.message, problem.details);
      ctx.note(`writeAfterSeal: ${run.flight.map(showCall).join("; ")} → ${run.result.signal}`);
    },
  },
  {
    id: "predict-signals",
    title: "predicted the signal that ends each of the two",
    points: 1,
    hint: "Read man 2 mprotect: each protection allows some accesses. Which one does each " +
      "function make that its page does not allow?",
    async run(ctx: CheckContext) {
      const wrong: string[] = [];
      for (const fn of ["callWithoutExec", "writeAfterSeal"] as const) {
        const predicted = await predictedSignal(ctx, fn);
        const run = await signalRun(ctx, fn);
        const problem = judgeSignal(ctx, run, fn);
        if (problem === "refused") {
          ctx.note(
            skipNote(refusedHere(ctx, run.flight)!, `${fn} cannot be observed: not compared`),
          );
          continue;
        }
        if (problem) {
          ctx.fail(`${fn} does not do what it should yet: make it work first`, {
            mistake: "the prediction is compared with what the kernel did to your code",
          });
        }
        const seen = run.result.signal ?? "none";
        ctx.note(`${fn}: you predicted ${predicted}, the process ended with ${seen}`);
        if (predicted !== seen) wrong.push(`${fn}: ${seen}`);
      }
      if (wrong.length) {
        ctx.fail(`predicted wrong: ${wrong.join(", ")}`, {
          mistake: 'read the lesson\'s last section, "After your predictions": each page allows ' +
            "some accesses (r, w, x in /proc/PID/maps), and an access it does not allow, an " +
            "instruction fetch or a store alike, is a SIGSEGV; SIGILL is for bytes the CPU " +
            "cannot decode",
        });
      }
    },
  },
]);
