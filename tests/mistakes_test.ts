import assert from "node:assert/strict";
import { applyMistake, MistakeError, parseMistake } from "../lib/grader/mistakes.ts";

Deno.test("a .mistake with CRLF line ends parses like one with LF", () => {
  const lf = "Why.\nexpect-fail: c /x/\n\n--- solution\nb\n+++ mistake\nB\n";
  const crlf = parseMistake("m", lf.replaceAll("\n", "\r\n"));
  assert.deepEqual(crlf, parseMistake("m", lf));
  assert.equal(applyMistake("a\r\nb\r\nc\r\n", crlf), "a\nB\nc\n");
});

Deno.test("a block without '+++ mistake' before the next block is an error", () => {
  assert.throws(
    () => parseMistake("m", "--- solution\na\n--- solution\nb\n+++ mistake\nc\n"),
    MistakeError,
  );
});

Deno.test("a block that matches no line, or two places, of the solution is an error", () => {
  const missing = parseMistake("m", "--- solution\nz\n+++ mistake\ny\n");
  assert.throws(() => applyMistake("a\nb\n", missing), /matches no lines/);
  const twice = parseMistake("m", "--- solution\na\n+++ mistake\ny\n");
  assert.throws(() => applyMistake("a\nb\na\n", twice), /matches 2 places/);
  const overlap = parseMistake(
    "m",
    "--- solution\na\nb\n+++ mistake\nx\n--- solution\nb\nc\n+++ mistake\ny\n",
  );
  assert.throws(() => applyMistake("a\nb\nc\n", overlap), /overlap/);
});
