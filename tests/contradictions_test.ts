import assert from "node:assert/strict";
import type { CheckResult, LabResult } from "../lib/checker/run.ts";
import type { CallRecord } from "../lib/mod.ts";
import { contradictions, WITHHELD } from "./contradictions.ts";

function check(over: Partial<CheckResult>): CheckResult {
  return {
    id: "c",
    title: "t",
    score: 0,
    maxScore: 1,
    status: "failed",
    message: "",
    details: {},
    notes: [],
    hidden: false,
    calls: [],
    durationMs: 0,
    ...over,
  };
}

function lab(...checks: CheckResult[]): LabResult {
  return { id: "99_x", title: "x", checks, score: 0, maxScore: 1, passed: false, durationMs: 0 };
}

const BITS: Record<string, number> = { PROT_READ: 1, PROT_WRITE: 2, MAP_SHARED: 1, MAP_PRIVATE: 2 };
const bits = (names: string) => names.split("|").reduce((sum, n) => sum | BITS[n], 0);
const mmap = (prot: string, flags: string): CallRecord => ({
  call: "mmap",
  args: { prot: bits(prot), flags: bits(flags), fd: 3, offset: 0, length: 4096 },
  result: "0x7f0000000000",
});

Deno.test("contradictions: 'no prediction yet' with a prediction made", () => {
  const awaiting = { awaitingPrediction: true, observed: "undefined" };
  assert.deepEqual(
    contradictions(
      lab(check({ message: "no prediction yet", details: awaiting, notes: [WITHHELD] })),
    ),
    [],
  );
  const found = contradictions(
    lab(check({ message: "no prediction yet", details: { ...awaiting, observed: '"SIGBUS "' } })),
  );
  assert.match(found[0], /a prediction was made/);
});

Deno.test("contradictions: a check awaiting a prediction shows no notes", () => {
  const found = contradictions(lab(check({
    message: "no prediction yet",
    details: { awaitingPrediction: true, observed: "undefined" },
    notes: ["the kernel took 1 fault"],
  })));
  assert.match(found[0], /shows notes/);
});

Deno.test("contradictions: a flag claimed that the call record contradicts", () => {
  const privateClaim = { message: "the file is mapped MAP_PRIVATE", details: {} };
  assert.deepEqual(
    contradictions(lab(check({ ...privateClaim, calls: [mmap("PROT_READ", "MAP_PRIVATE")] }))),
    [],
  );
  const found = contradictions(
    lab(check({ ...privateClaim, calls: [mmap("PROT_READ|PROT_WRITE", "MAP_SHARED")] })),
  );
  assert.match(found[0], /none of the 1 recorded mmap call\(s\) has MAP_PRIVATE/);
  // a claim about a page, not the mapping: no call records it
  assert.deepEqual(
    contradictions(lab(check({
      message: "x",
      details: { mistake: "the page was mapped read-only for the reads, so the write faults" },
      calls: [mmap("PROT_READ|PROT_WRITE", "MAP_PRIVATE")],
    }))),
    [],
  );
  assert.match(
    contradictions(lab(check({
      message: "the mapping is not writable",
      calls: [mmap("PROT_READ|PROT_WRITE", "MAP_SHARED")],
    })))[0],
    /without PROT_WRITE/,
  );
  // the calls of the check whose run it shares
  const owner = check({ id: "a", status: "passed", calls: [mmap("PROT_READ", "MAP_SHARED")] });
  const sharer = check({
    id: "b",
    sharedWith: "a",
    message: "x",
    details: { mistake: "mapped with PROT_WRITE: ask for access read" },
  });
  assert.match(contradictions(lab(owner, sharer))[0], /has PROT_WRITE/);
});

Deno.test("contradictions: a passed check says nothing failed", () => {
  assert.deepEqual(contradictions(lab(check({ status: "passed", notes: ["fine"] }))), []);
  assert.match(
    contradictions(lab(check({ status: "passed", details: { mistake: "x" } })))[0],
    /passed, but says x/,
  );
});
