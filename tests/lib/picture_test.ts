/** drawPages: one glyph per page, rows of `width`, a legend that counts. */

import assert from "node:assert/strict";
import { drawPages, mapAnonymous, type PageState, sys } from "../../lib/mod.ts";

const GLYPH: Record<PageState, string> = {
  absent: "·",
  zero: "0",
  file: "▒",
  copied: "█",
  own: "█",
  shared: "▓",
  swapped: "s",
};

function pagesOf(states: PageState[]): { state: PageState }[] {
  return states.map((state) => ({ state }));
}

/** The glyphs between the bars of each row. */
function cells(picture: string): string[] {
  return picture.split("\n").filter((l) => l.startsWith("page ")).map((l) =>
    l.slice(l.indexOf("│") + 1, l.lastIndexOf("│"))
  );
}

/** The legend lines as state meaning → count. */
function legend(picture: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of picture.split("\n").filter((l) => l.startsWith("  "))) {
    const m = /^ {2}(\S) (.+?)\s+(\d+)$/.exec(line);
    assert.ok(m, `legend line: ${JSON.stringify(line)}`);
    out.set(`${m[1]} ${m[2]}`, Number(m[3]));
  }
  return out;
}

Deno.test("drawPages: one glyph per page, rows of width, padded row labels", () => {
  const states: PageState[] = [];
  for (let i = 0; i < 70; i++) states.push(i % 7 === 0 ? "copied" : i % 2 ? "file" : "absent");
  const picture = drawPages(pagesOf(states), { color: false, width: 32 });
  const rows = cells(picture);
  assert.deepEqual(rows.map((r) => [...r].length), [32, 32, 6]);
  assert.equal(rows.join(""), states.map((s) => GLYPH[s]).join(""));
  const labels = picture.split("\n").filter((l) => l.startsWith("page ")).map((l) =>
    l.slice(0, l.indexOf("│"))
  );
  assert.deepEqual(labels, ["page  0 ", "page 32 ", "page 64 "]);
  assert.ok(!picture.includes("\x1b["), "no colour codes with color: false");
});

Deno.test("drawPages: the legend counts each state present, and only those", () => {
  const states: PageState[] = [
    ...new Array<PageState>(5).fill("file"),
    ...new Array<PageState>(3).fill("copied"),
    ...new Array<PageState>(11).fill("absent"),
    "swapped",
  ];
  const picture = drawPages(pagesOf(states), { color: false });
  assert.equal(cells(picture).length, 1, "20 pages fit one row of 64");
  const counts = legend(picture);
  assert.equal(counts.size, 4);
  const byGlyph = [...counts].map(([k, v]) => [k[0], v]);
  assert.deepEqual(byGlyph.sort(), [["s", 1], ["·", 11], ["▒", 5], ["█", 3]].sort());
  let total = 0;
  for (const n of counts.values()) total += n;
  assert.equal(total, states.length);
  for (const key of counts.keys()) {
    if (key.startsWith("█")) assert.match(key, /copied on write/);
  }
});

Deno.test("drawPages: legend false, and no pages", () => {
  const pages = pagesOf(["own", "zero", "shared"]);
  assert.equal(drawPages(pages, { color: false, legend: false }), "page 0 │█0▓│");
  const colored = drawPages(pages, { color: true, legend: false });
  // deno-lint-ignore no-control-regex
  assert.equal(colored.replace(/\x1b\[[0-9;]*m/g, ""), "page 0 │█0▓│");
  assert.equal(drawPages([], { color: false }), "(no pages)");
  assert.equal(drawPages([], { color: false, legend: false }), "(no pages)");
});

Deno.test({
  name: "drawPages: color true colours even when stdout is not a terminal",
  fn() {
    const colored = drawPages(pagesOf(["own", "zero", "shared"]), { color: true, legend: false });
    // deno-lint-ignore no-control-regex
    const plain = colored.replace(/\x1b\[[0-9;]*m/g, "");
    assert.notEqual(colored, plain, "colour codes are present");
    assert.equal(plain, "page 0 │█0▓│");
  },
});

Deno.test("drawPages of a real mapping: what was touched shows", () => {
  const PAGE = sys.pageSize();
  using m = mapAnonymous(6 * PAGE);
  m.bytes[PAGE] = 1;
  m.bytes[4 * PAGE] = 1;
  const picture = drawPages(m.pages(), { color: false });
  assert.equal(cells(picture)[0], "·█··█·");
  const counts = legend(picture);
  assert.equal(counts.size, 2);
  assert.deepEqual([...counts.values()].sort(), [2, 4]);
});
