/**
 * `--update`'s input check: an empty, truncated or foreign grades file is
 * refused with what is wrong; a valid one is read back as it was written.
 */

import assert from "node:assert/strict";
import { parseGradeFile } from "../../lib/grader/grade_file.ts";
import type { GradeReport } from "../../lib/grader/types.ts";

const valid: GradeReport = {
  format: "mmap-lab-grades",
  version: 1,
  gradedAt: "2026-01-01T00:00:00.000Z",
  labs: [{ id: "00_hello_mapping", title: "t", file: "hello.ts", maxScore: 5, checks: [] }],
  students: [{
    name: "ada",
    submission: "/s/ada",
    score: 5,
    maxScore: 5,
    notes: [],
    labs: [{
      id: "00_hello_mapping",
      status: "graded",
      score: 5,
      maxScore: 5,
      checks: [],
      durationMs: 1,
    }],
  }],
  problems: [],
  durationMs: 1,
};

Deno.test("grade file: a valid file is read back; broken ones are refused with the reason", () => {
  const text = JSON.stringify(valid, null, 2);
  assert.deepEqual(parseGradeFile(text, "class.json"), valid);
  const cases: [string, RegExp][] = [
    ["", /class\.json is empty \(a grader killed while writing it\?\)/],
    ["  \n", /is empty/],
    [text.slice(0, text.length >> 1), /class\.json is not valid JSON/],
    ["[]", /not a grades file of this grader: it is not a JSON object/],
    [JSON.stringify({ format: "other" }), /"format" is "other"/],
    [JSON.stringify({ ...valid, students: {} }), /"students" is not a list/],
    [
      JSON.stringify({ ...valid, students: [{ ...valid.students[0], labs: [{ id: 1 }] }] }),
      /student "ada"'s labs\[0\] is not a lab grade/,
    ],
    [JSON.stringify({ ...valid, labs: [{ title: "x" }] }), /labs\[0\] has no "id" and "maxScore"/],
  ];
  for (const [input, pattern] of cases) {
    assert.throws(() => parseGradeFile(input, "class.json"), pattern, JSON.stringify(input));
  }
});
