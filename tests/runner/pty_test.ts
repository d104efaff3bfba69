/**
 * The interactive runner in a real pseudo-terminal (tmux), as a student sees
 * it at 80×24 and at 120×40: the header and the first failing check on
 * screen, no line cut mid-word by the terminal, the student's own prints
 * shown, a type error shown with its line, a redraw on resize, and a second
 * runner that says the first one is open.
 */

import assert from "node:assert/strict";
import { LAB_COMMAND, makeProject } from "../helpers/project.ts";
import { Tmux, tmuxMissing } from "../helpers/tmux.ts";

const missing = tmuxMissing();
if (missing) console.warn(`pty_test: skipped: ${missing}`);

const STUDENT = "labs/01_first_mapping/first_mapping.ts";
const PRINT = "debug: hello from my lab file";

/** The screen as the student sees it: the header, the first failing check, nothing cut. */
function assertScreen(tmux: Tmux, screen: string[], cols: number, rows: number): void {
  const text = screen.join("\n");
  assert.ok(screen.length <= rows, `at most ${rows} rows:\n${text}`);
  for (const line of screen) {
    assert.ok([...line].length <= cols, `no line wider than ${cols}: ${JSON.stringify(line)}`);
  }
  // tmux joins (-J) the rows it wrapped itself: none means no word was cut by the terminal.
  assert.deepEqual(tmux.screen("lab:0", true), screen, "the terminal wrapped no line");
  assert.match(screen[0], /^\[[#·]+\] 0\/2 labs passed · \d+ of \d+ points$/, text);
  assert.match(text, /^Lab 01 · First mapping \(read-only\)$/m);
  assert.match(text, /^Edit labs\/01_first_mapping\/first_mapping\.ts/m);
  assert.match(text, /^keys: r re-run · h hint/m, "the keys at the bottom");
}

Deno.test({
  name: "watch mode in a pseudo-terminal at 80×24 and 120×40: header, first failing check, " +
    "no cut words, prints, type errors, resize, one runner at a time",
  ignore: missing !== undefined,
  async fn(t) {
    const dir = makeProject(["00_hello_mapping", "01_first_mapping"]);
    const stub = Deno.readTextFileSync(`${dir}/${STUDENT}`);
    // The student's first debugger: a print at the top of the file, seen by every check.
    Deno.writeTextFileSync(
      `${dir}/${STUDENT}`,
      stub.replace(/^(import .*\n)/m, `$1console.log(${JSON.stringify(PRINT)});\n`),
    );
    try {
      await using tmux = new Tmux(dir, [Deno.execPath(), ...LAB_COMMAND, "watch", "1"], 80, 24);
      await t.step("80×24: header, first failing check and the print are on screen", async () => {
        const screen = await tmux.waitFor((s) => /Save the file to re-run/.test(s), "a verdict");
        assertScreen(tmux, screen, 80, 24);
        const text = screen.join("\n");
        assert.match(text, /✗ maps-lazily/, "the first failing check");
        assert.ok(text.includes(`| ${PRINT}`), `the print is shown:\n${text}`);
        assert.match(text, /your code printed \(stdout\):/);
      });
      await t.step("a second runner in the same project says where the first is", async () => {
        const window = tmux.window(dir, [Deno.execPath(), ...LAB_COMMAND]);
        // (Wrapped at the terminal's width: any space may be a line break.)
        const screen = await tmux.waitFor((s) => /already\s+open/.test(s), "the refusal", {
          window,
        });
        const text = screen.join(" ").replace(/\s+/g, " ");
        assert.match(text, /a lab runner is already open in this project \(process \d+/);
        assert.match(text, /watching 01_first_mapping/);
      });
      await t.step("resized to 120×40, the screen is drawn again to fit", async () => {
        tmux.resize(120, 40);
        const screen = await tmux.waitFor(
          (s) => s.split("\n").some((l) => [...l].length > 80) && /Save the file/.test(s),
          "a redraw at 120 columns",
        );
        assertScreen(tmux, screen, 120, 40);
        assert.match(screen.join("\n"), /✗ maps-lazily/);
      });
      await t.step("a type error is shown with its line, and no logic diagnosis", async () => {
        tmux.resize(80, 24);
        const broken = Deno.readTextFileSync(`${dir}/${STUDENT}`).replace(
          /(export function mapWhole\(path: string\)[^{]*\{\n)/,
          '$1  mapFile(path, { access: "read" }).bytes.set("text", 0);\n',
        );
        const line = broken.split("\n").findIndex((l) => l.includes('set("text", 0)')) + 1;
        assert.ok(line > 0);
        Deno.writeTextFileSync(`${dir}/${STUDENT}`, broken);
        const screen = await tmux.waitFor(
          (s) => /TS2345/.test(s) && /Save the file/.test(s),
          "the type error",
        );
        assertScreen(tmux, screen, 80, 24);
        const text = screen.join("\n");
        assert.match(text, new RegExp(`first_mapping\\.ts:${line}:\\d+  TS2345: Argument of type`));
        assert.doesNotMatch(text, /✗ maps-lazily|likely mistake/, "no logic diagnosis");
      });
      await t.step("n on a lab that has not passed says why; q quits", async () => {
        tmux.keys("n");
        await tmux.waitFor((s) => /n moves on once this lab passes: not yet/.test(s), "n's reason");
        tmux.keys("q");
        await tmux.waitFor((s) => /Pane is dead|0\/2 labs passed[^\n]*\n*$/.test(s), "the exit");
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "watch mode shows each check's verdict as it arrives, the rest pending, within 80×24",
  ignore: missing !== undefined,
  async fn() {
    const dir = makeProject(["00_hello_mapping", "01_first_mapping"]);
    // The reference solution, but countLines never returns: the checks before it finish while
    // the one that calls it waits for its time limit, so the screen of a run under way stays
    // up for seconds.
    const solution = Deno.readTextFileSync(`${dir}/solutions/01_first_mapping/first_mapping.ts`);
    const hanging = solution.replace(
      /(export function countLines\(path: string\): number \{\n)/,
      "$1  while (path.length > 0) { /* never returns */ }\n",
    );
    assert.notEqual(hanging, solution);
    Deno.writeTextFileSync(`${dir}/${STUDENT}`, hanging);
    try {
      await using tmux = new Tmux(dir, [Deno.execPath(), ...LAB_COMMAND, "watch", "1"], 80, 24);
      const during = await tmux.waitFor(
        (s) => /checking… [1-9] of \d+ checks done/.test(s) && /… counts-lines/.test(s),
        "a run under way with a check done and counts-lines pending",
      );
      const text = during.join("\n");
      assert.ok(during.length <= 24, text);
      for (const line of during) assert.ok([...line].length <= 80, JSON.stringify(line));
      const heading = /^Lab 01 · First mapping \(read-only\) {2}checking: ([1-9]) of (\d+) done$/m
        .exec(text);
      assert.ok(heading, `the lab's heading counts the checks done:\n${text}`);
      const [, done, total] = heading;
      assert.match(text, new RegExp(`^checking… ${done} of ${total} checks done$`, "m"));
      assert.match(text, /^ {2}✓ maps-lazily {2}.* \(\d+\/\d+\)$/m, `a finished check:\n${text}`);
      assert.match(text, /^ {2}… reads-window {2}readWindow maps only/m, "a pending check");
      assert.match(text, /^ {2}… counts-lines /m, "the check that waits for countLines");
      const listed = text.split("\n").filter((l) => /^ {2}[✓✗·…] [a-z-]+ {2}/.test(l));
      assert.equal(listed.length, Number(total), `one line per check:\n${text}`);
      assert.doesNotMatch(text, /Save the file to re-run|passes!/, "no final status yet");
      // The whole verdict, as before: counts-lines failed on its time limit.
      const after = await tmux.waitFor((s) => /Save the file to re-run/.test(s), "the verdict");
      const final = after.join("\n");
      assert.match(final, /✗ counts-lines/);
      assert.match(final, /checks passed/);
      assert.doesNotMatch(final, /… counts-lines|checking…/);
      tmux.keys("q");
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
