/**
 * `deno task lab web 3` in a real headless Chromium, after a run of lab 03's
 * reference solution in a fresh copy of the project: the strip shows the
 * private copies where the drive's pagemap saw them, ← and → step through
 * the pictures, a save in watch mode (tmux) reaches the open page through
 * server-sent events, and the page reads at 200 % zoom. Screenshots go to
 * `.mmap-lab/artifacts/`.
 */

import assert from "node:assert/strict";
import { LAB_COMMAND, makeProject } from "../helpers/project.ts";
import { Tmux, tmuxMissing } from "../helpers/tmux.ts";
import { applyMistake, parseMistake } from "../mistakes.ts";
import { PROJECT_ROOT } from "../../lib/catalog.ts";
import { Chromium, chromiumMissing, type Page, skipNotice, warnSkipped } from "./chromium.ts";
import type { RunRecord } from "../../cli/web/run_data.ts";

const missing = chromiumMissing();
if (missing) warnSkipped("tests/web/lab_web_test.ts", missing);
const noTmux = tmuxMissing();

const ARTIFACTS = `${PROJECT_ROOT}/.mmap-lab/artifacts`;
const LAB = "03_private_cow";
const STUDENT = `labs/${LAB}/private_copy.ts`;
const decoder = new TextDecoder();

/** Starts `deno task lab web 3 --port 0` in `dir` and returns its address once it prints it. */
async function startServer(dir: string): Promise<{ url: string; child: Deno.ChildProcess }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...LAB_COMMAND, "web", "3", "--port", "0"],
    cwd: dir,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
    const match = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(out);
    if (match) {
      // Keep draining stdout so the server never blocks on a full pipe.
      (async () => {
        try {
          for (;;) if ((await reader.read()).done) break;
        } catch { /* closed */ }
      })();
      return { url: match[1], child };
    }
  }
  child.kill("SIGKILL");
  const err = decoder.decode((await child.output()).stderr);
  throw new Error(`lab web printed no address:\n${out}\n${err}`);
}

/** `deno task lab check 3` in `dir`. */
async function checkLab(dir: string): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: [...LAB_COMMAND, "check", "3"],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: r.code, out: decoder.decode(r.stdout) + decoder.decode(r.stderr) };
}

/** The strip as the page shows it: one state per page, in order. */
function strip(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(
    `[...document.querySelectorAll("#strip li")].map((li) => li.dataset.state)`,
  );
}

const indexes = (states: string[], state: string) =>
  states.flatMap((s, i) => (s === state ? [i] : []));

Deno.test({
  name: "lab web 3 after the reference solution's run: the copies where pagemap saw them, " +
    "stepping with the keys, live updates on save, 200 % zoom",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = makeProject([LAB]);
    const solution = Deno.readTextFileSync(`${dir}/solutions/${LAB}/private_copy.ts`);
    Deno.writeTextFileSync(`${dir}/${STUDENT}`, solution);
    let server: Deno.ChildProcess | undefined;
    try {
      // A student's passing run: `deno task lab check 3` records it for the page.
      let check = await checkLab(dir);
      if (check.code !== 0 && /the checker itself failed/.test(check.out)) {
        // Not the student's fault (seen once under a load average of 8, on a cold copy): say
        // so, and run once more.
        console.warn(`lab_web_test: the first run's checker failed, running again:\n${check.out}`);
        check = await checkLab(dir);
      }
      assert.equal(check.code, 0, check.out);
      const record: RunRecord = JSON.parse(
        Deno.readTextFileSync(`${dir}/.mmap-lab/web/${LAB}.json`),
      );
      const frames = record.picture!.frames;
      const edited = frames.findIndex((f) => f.title.startsWith("after edit()"));
      assert.ok(edited > 0, `a picture after the edits: ${frames.map((f) => f.title)}`);

      const started = await startServer(dir);
      server = started.child;
      await using browser = await Chromium.launch(`${dir}/.mmap-lab/browser`);
      const page = await browser.newPage(1280, 900);
      await page.goto(started.url);
      await page.waitFor(`document.querySelectorAll("#strip li").length > 0`, "the strip");

      await t.step(
        "the strip shows the private copies where the drive's pagemap saw them",
        async () => {
          assert.equal(
            await page.evaluate(`document.getElementById("pos").textContent`),
            `Step 1 of ${frames.length}`,
          );
          for (let i = 0; i < edited; i++) await page.press("ArrowRight");
          await page.waitFor(
            `document.body.dataset.step === "${edited}"`,
            `step ${edited + 1} after ${edited} presses of →`,
          );
          const title = await page.evaluate<string>(
            `document.getElementById("frame-title").textContent`,
          );
          assert.equal(title, frames[edited].title);
          // The pages the drive edited, from its own words, and those pagemap showed copied.
          const named = (/pages ([\d, ]+)/.exec(title)?.[1] ?? "").split(/,\s*/).map(Number);
          const states = await strip(page);
          assert.equal(states.length, frames[edited].pages.length);
          assert.deepEqual(
            indexes(states, "copied"),
            named,
            `copies on the pages edited: ${states}`,
          );
          assert.deepEqual(indexes(states, "copied"), indexes(frames[edited].pages, "copied"));
          assert.deepEqual(
            indexes(states, "file"),
            states.map((_, i) => i).filter((i) => !named.includes(i)),
            "every other page is the file's",
          );
          // Letters, not colour alone: each cell says its state in text.
          const letters = await page.evaluate<string[]>(
            `[...document.querySelectorAll("#strip li .pl")].map((e) => e.textContent)`,
          );
          assert.deepEqual(letters, states.map((s) => (s === "copied" ? "C" : "F")));
          const spoken = await page.evaluate<string>(
            `document.querySelector('#strip li[data-page="${named[0]}"]').textContent`,
          );
          assert.match(spoken, /private copy, changed since the last step/);
          // The calls beside it: the step's marker is the current one.
          assert.equal(
            await page.evaluate(
              `document.querySelector("#timeline li.marker.now button").textContent`,
            ),
            `Step ${edited + 1}: ${title}`,
          );
          await page.screenshot(`${ARTIFACTS}/lab-web-03-copies.png`);
          // The window as a student sees it (the README's picture, docs/img/lab-web-03.png).
          await page.screenshot(`${ARTIFACTS}/lab-web-03.png`, false);
        },
      );

      await t.step("→ and ← step from one picture to the next and back", async () => {
        await page.press("ArrowRight");
        await page.waitFor(`document.body.dataset.step === "${edited + 1}"`, "the next step");
        assert.equal(
          await page.evaluate(`document.getElementById("frame-title").textContent`),
          frames[edited + 1].title,
        );
        assert.deepEqual(await strip(page), frames[edited + 1].pages);
        assert.notDeepEqual(frames[edited + 1].pages, frames[edited].pages, "the pictures differ");
        // The calls that led to this step are marked: revertPage's madvise.
        const now = await page.evaluate<string[]>(
          `[...document.querySelectorAll("#timeline li.call.now")].map((li) => li.textContent)`,
        );
        assert.ok(now.some((c) => c.startsWith("madvise(")), `madvise marked: ${now}`);
        await page.press("ArrowLeft");
        await page.waitFor(`document.body.dataset.step === "${edited}"`, "back one step");
        assert.deepEqual(await strip(page), frames[edited].pages);
        await page.press("End");
        await page.waitFor(
          `document.body.dataset.step === "${frames.length - 1}"`,
          "the last step",
        );
        assert.equal(
          await page.evaluate(`document.getElementById("next").disabled`),
          true,
          "no step after the last",
        );
        await page.press("Home");
        await page.waitFor(`document.body.dataset.step === "0"`, "the first step");
        await page.click("#next");
        await page.waitFor(`document.body.dataset.step === "1"`, "a click on Next");
        for (let i = 1; i < edited; i++) await page.press("ArrowRight");
        await page.waitFor(`document.body.dataset.step === "${edited}"`, "back to the edits");
      });

      await t.step("a save in watch mode reaches the open page", async (s) => {
        const before = await page.evaluate<string>(`document.body.dataset.recordedAt`);
        const mistake = parseMistake(
          "shared_mapping",
          Deno.readTextFileSync(`${PROJECT_ROOT}/tests/wrong/${LAB}/shared_mapping.mistake`),
        );
        if (noTmux) {
          skipNotice("lab_web_test: watch mode not tested (a new run instead)", noTmux);
          await s.step({ name: `SKIPPED: watch mode: ${noTmux}`, ignore: true, fn() {} });
        }
        await using tmux = noTmux
          ? undefined
          : new Tmux(dir, [Deno.execPath(), ...LAB_COMMAND, "watch", "3"], 100, 30);
        if (tmux) {
          await tmux.waitFor((screen) => /passes!/.test(screen), "watch mode's first verdict", {
            timeoutMs: 120_000,
          });
        }
        // The student saves a shared mapping: edits go to the file's pages, no copies.
        Deno.writeTextFileSync(`${dir}/${STUDENT}`, applyMistake(solution, mistake));
        if (!tmux) {
          await new Deno.Command(Deno.execPath(), {
            args: [...LAB_COMMAND, "check", "3"],
            cwd: dir,
            stdout: "null",
            stderr: "null",
          }).output();
        }
        await page.waitFor(
          `document.body.dataset.recordedAt !== ${JSON.stringify(before)} &&
            document.getElementById("verdict").textContent.startsWith("✗") &&
            !document.querySelector('#strip li[data-state="copied"]')`,
          "the page to show the new run",
          120_000,
        );
        assert.equal(
          await page.evaluate(`document.body.dataset.step`),
          String(edited),
          "same step",
        );
        const states = await strip(page);
        assert.deepEqual(indexes(states, "copied"), [], `no copy with MAP_SHARED: ${states}`);
        assert.match(
          await page.evaluate<string>(`document.getElementById("kind").textContent`),
          /shared file mapping/,
        );
        assert.match(
          await page.evaluate<string>(`document.getElementById("live").textContent`),
          /New run recorded/,
          "the update is announced to screen readers",
        );
        await page.screenshot(`${ARTIFACTS}/lab-web-03-after-save.png`);
      });

      await t.step(
        "at 200 % zoom nothing needs a sideways scroll, and the page has no errors",
        async () => {
          Deno.writeTextFileSync(`${dir}/${STUDENT}`, solution);
          await page.setViewport(640, 450, 2); // what a 1280×900 window shows at 200 %
          const wide = await page.overflow();
          assert.deepEqual(wide, [], "at 200 %, nothing wider than the window");
          await page.screenshot(`${ARTIFACTS}/lab-web-03-zoom-200.png`);
          assert.deepEqual(page.errors, [], "no script errors");
          const external = await page.evaluate<string[]>(
            `performance.getEntriesByType("resource").map((r) => r.name)
            .filter((n) => !n.startsWith(location.origin))`,
          );
          assert.deepEqual(external, [], "nothing loaded from elsewhere");
        },
      );
    } finally {
      if (server) {
        try {
          server.kill("SIGINT");
        } catch { /* ended */ }
        const status = await server.status;
        assert.ok(status.success, "lab web ends cleanly on Ctrl-C");
        await server.stderr.cancel().catch(() => {});
      }
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
