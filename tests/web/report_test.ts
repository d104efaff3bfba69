/**
 * The class report (`deno task grade … --html`): on a made-up report, hidden
 * checks are marked and a student's text cannot become markup; on the
 * adversarial fixture class, graded for real, the page in a headless
 * Chromium shows every check's pass rate as the JSON has it, the checks
 * failed most first, and each student's row opens onto their messages.
 * Screenshots go to `.mmap-lab/artifacts/`.
 */

import assert from "node:assert/strict";
import { buildClass, freshDir, PROJECT_ROOT, removeDir } from "../grader/fixtures.ts";
import { Chromium, chromiumMissing, warnSkipped } from "./chromium.ts";
import { formatHtml } from "../../cli/grade_html.ts";
import type { CheckGrade, GradeReport } from "../../lib/grader/types.ts";

const missing = chromiumMissing();
if (missing) warnSkipped("tests/web/report_test.ts", missing);

const ARTIFACTS = `${PROJECT_ROOT}/.mmap-lab/artifacts`;
const decoder = new TextDecoder();

function check(id: string, passed: boolean, hidden = false, message = ""): CheckGrade {
  return {
    id,
    title: `the ${id} check`,
    score: passed ? 1 : 0,
    maxScore: 1,
    status: passed ? "passed" : "failed",
    message: passed ? "" : message || `${id} failed`,
    hidden,
  };
}

/** Two students, one lab of two checks (one hidden), one entry rejected. */
function madeUp(): GradeReport {
  const lab = (checks: CheckGrade[]) => ({
    id: "05_msync",
    status: "graded" as const,
    score: checks.reduce((s, c) => s + c.score, 0),
    maxScore: 2,
    checks,
    durationMs: 1,
  });
  return {
    format: "mmap-lab-grades",
    version: 1,
    gradedAt: "2026-12-01T10:00:00.000Z",
    labs: [{
      id: "05_msync",
      title: "msync",
      file: "msync.ts",
      maxScore: 2,
      checks: [
        { id: "syncs", title: "the syncs check", points: 1, hidden: false },
        { id: "secret", title: "the secret check", points: 1, hidden: true },
      ],
    }],
    students: [
      {
        name: "ada",
        submission: "/s/ada",
        status: "graded",
        labs: [lab([check("syncs", true), check("secret", true, true)])],
        score: 2,
        maxScore: 2,
        notes: [],
      },
      {
        name: "<img src=x onerror=alert(1)>",
        submission: "/s/x",
        status: "graded",
        labs: [
          lab([
            check("syncs", false, false, "printed </pre><script>alert(2)</script>\u001b[31m"),
            check("secret", false, true),
          ]),
        ],
        score: 0,
        maxScore: 2,
        notes: [],
      },
      {
        name: "notes.txt",
        submission: "/s/notes.txt",
        status: "rejected",
        labs: [],
        score: 0,
        maxScore: 0,
        notes: ["a file, not a folder: not a submission"],
      },
    ],
    problems: [],
    durationMs: 1234,
  };
}

Deno.test("class report: hidden checks are marked; a student's text never becomes markup", () => {
  const html = formatHtml(madeUp());
  // One self-contained file: no script, nothing loaded from elsewhere.
  assert.doesNotMatch(html, /<script|<link|src=["']?http|url\(http/i);
  assert.match(html, /data-check="secret"[^>]*>.*?<span class="badge hidden-check"/s);
  assert.doesNotMatch(
    html,
    /data-check="syncs"[^>]*><span class="rate">[^<]*<\/span> <span class="count">[^<]*<\/span> <span class="badge hidden/,
  );
  assert.ok(html.includes("&lt;img src=x onerror=alert(1)&gt;"), "the name is escaped");
  assert.ok(!html.includes("<img"), "no element from a student's name");
  assert.ok(html.includes("&lt;/pre&gt;&lt;script&gt;"), "a message is escaped");
  assert.ok(!html.includes("\u001b"), "control characters are stripped");
  // The checks failed most come first: both at 50 %.
  assert.match(html, /<ol class="glance"><li><strong>50 %<\/strong>/);
  assert.match(html, /1 entry not graded/);
  assert.match(html, /note: a file, not a folder/);
});

Deno.test({
  name: "grade --html on the fixture class: pass rates as graded, the checks failed most " +
    "first, each student's row opens onto their messages",
  ignore: missing !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const dir = freshDir("html-report");
    try {
      const students = buildClass(`${dir}/class`);
      const html = `${dir}/class.html`;
      const json = `${dir}/class.json`;
      const graded = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-q",
          "-P=grade",
          "cli/grade.ts",
          `${dir}/class`,
          "--lab",
          "0",
          "--html",
          html,
          "--json",
          json,
          "--quiet",
        ],
        cwd: PROJECT_ROOT,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const said = decoder.decode(graded.stdout) + decoder.decode(graded.stderr);
      assert.equal(graded.code, 0, said);
      assert.match(said, new RegExp(`wrote ${html.replaceAll(".", "\\.")}`));
      const report: GradeReport = JSON.parse(Deno.readTextFileSync(json));
      const meta = report.labs[0];

      await using browser = await Chromium.launch(`${dir}/browser`);
      const page = await browser.newPage(1280, 900);
      await page.goto(`file://${html}`);

      await t.step("every check's pass rate, as the grades file has it", async () => {
        const cells = await page.evaluate<{ check: string; rate: string; text: string }[]>(
          `[...document.querySelectorAll("li.cell[data-check]")].map((li) => ({
            check: li.dataset.check, rate: li.dataset.rate, text: li.textContent }))`,
        );
        assert.deepEqual(cells.map((c) => c.check), meta.checks.map((c) => c.id));
        for (const c of cells) {
          // Among the students who attempted the lab (the stubs and the missing left out).
          const results = report.students.filter((s) => s.status !== "rejected")
            .map((s) => s.labs[0]).filter((g) => g?.status === "graded" && !g.unchanged)
            .map((g) => g.checks.find((x) => x.id === c.check)!);
          const passed = results.filter((r) => r.status === "passed").length;
          assert.equal(Number(c.rate), Number((passed / results.length).toFixed(4)), c.check);
          assert.ok(
            c.text.includes(`${Math.round((passed / results.length) * 100)} %`) &&
              c.text.includes(`${passed}/${results.length}`),
            `the rate in text, not colour alone: ${c.text}`,
          );
        }
        // At a glance: the first check named is one with the lowest pass rate.
        const lowest = Math.min(...cells.map((c) => Number(c.rate)));
        const first = await page.evaluate<string>(
          `document.querySelector("ol.glance li code").textContent`,
        );
        const firstId = first.split(" ")[1];
        assert.equal(Number(cells.find((c) => c.check === firstId)!.rate), lowest, first);
      });

      await t.step("one row per student; a row opens onto that student's messages", async () => {
        const rows = await page.evaluate<string[]>(
          `[...document.querySelectorAll("details[data-student]")].map((d) => d.dataset.student)`,
        );
        assert.deepEqual(rows.sort(), [...students].sort());
        const selector = `details[data-student="segfault"]`;
        const visible = `(() => { const d = document.querySelector('${selector}');
          const li = d.querySelector('li[data-check="runs"] pre');
          return d.open && li && li.offsetParent !== null && li.textContent; })()`;
        assert.equal(await page.evaluate(visible), false, "closed at first");
        await page.click(`${selector} summary`);
        const text = await page.waitFor<string>(visible, "segfault's messages");
        assert.match(text, /SIGSEGV/);
        const total = await page.evaluate<string>(
          `document.querySelector('${selector} summary').textContent`,
        );
        const student = report.students.find((s) => s.name === "segfault")!;
        assert.ok(total.includes(`${student.score}/${student.maxScore}`), total);
        await page.screenshot(`${ARTIFACTS}/class-report-fixtures.png`);
      });

      await t.step("at 200 % zoom the report still reads without a sideways scroll", async () => {
        await page.setViewport(640, 450, 2);
        // (The roster and the tables may scroll inside their own boxes: the page does not.)
        assert.deepEqual(await page.overflow(), [], "at 200 %, nothing wider than the window");
        assert.deepEqual(page.errors, []);
        await page.screenshot(`${ARTIFACTS}/class-report-fixtures-zoom-200.png`);
      });
    } finally {
      removeDir(dir);
    }
  },
});
