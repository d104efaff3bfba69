/** Word wrapping and the fitted watch screen (cli/wrap.ts, cli/screen.ts). */

import assert from "node:assert/strict";
import { visibleLength, wrapLine, wrapText } from "../../cli/wrap.ts";
import { fitScreen } from "../../cli/screen.ts";

Deno.test("lines wrap at word boundaries, indented like the line, colours kept", () => {
  const line =
    "      likely mistake: mmap's offset must be page-aligned: map from the page-aligned base";
  const lines = wrapLine(line, 40);
  assert.ok(lines.every((l) => visibleLength(l) <= 40), JSON.stringify(lines));
  assert.equal(lines.join(" ").replace(/\s+/g, " ").trim(), line.replace(/\s+/g, " ").trim());
  assert.ok(lines.slice(1).every((l) => l.startsWith("      ")), "continuations keep the indent");
  assert.ok(!lines.some((l) => /page-alig$/.test(l)), "no word is cut");
  const red = wrapText("\x1b[31mred words that wrap here\x1b[39m", 12);
  assert.ok(red.split("\n").every((l) => visibleLength(l) <= 12));
  assert.equal(wrapLine("short", 80)[0], "short");
  assert.deepEqual(wrapLine("x".repeat(25), 10).map((l) => l.length), [10, 10, 5]);
});

Deno.test("the fitted screen keeps the header and the key block, and says more is hidden", () => {
  const header = ["progress", "", "Lab 01", "Edit labs/01/x.ts", ""];
  const body = [
    { text: "Lab 01 · title", key: true },
    { text: "  ✓ one\n      output\n      output" },
    { text: "  ✗ two\n" + "      detail\n".repeat(30), key: true },
    { text: "  ✗ three\n      more detail" },
  ];
  const { lines, shortened } = fitScreen(
    { header, body, footer: ["save", "keys"] },
    80,
    24,
    "more",
  );
  assert.ok(shortened);
  assert.ok(lines.length <= 24);
  assert.equal(lines[0], "progress");
  assert.ok(lines.includes("Edit labs/01/x.ts"));
  assert.ok(lines.includes("  ✗ two"), "the first failing check");
  assert.deepEqual(lines.slice(-3), ["more", "save", "keys"]);
  const roomy = fitScreen({ header, body: body.slice(0, 2), footer: ["keys"] }, 80, 24);
  assert.ok(!roomy.shortened);
  assert.ok(roomy.lines.includes("      output"));
});
