/**
 * `deno task grade … --html FILE`: the class report as one self-contained
 * HTML file (inline style, no script needed, nothing fetched): the checks
 * that failed most, the class's points per lab, a heat map of every check's
 * pass rate, and one row per student that opens (`<details>`) onto their
 * per-check messages. Hidden checks are marked. Text that came from a
 * student's process is stripped of control characters and escaped.
 *
 * @module
 */

import type { CheckGrade, GradeReport, LabGrade, StudentGrade } from "../lib/grader/types.ts";
import { type CheckSummary, summarize } from "../lib/grader/summary.ts";
import { labColumn, sanitize } from "../lib/grader/formats.ts";
import { kernelLabel } from "../lib/profile.ts";
import { formatOutput } from "../lib/checker/output.ts";
import { BASE_CSS, escapeHtml } from "./web/style.ts";

const REPORT_CSS = `
.summary-line { font-size: 1.05rem; }
.glance { padding-left: 1.5rem; }
.glance li { margin: 0.2rem 0; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid var(--line); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { overflow-x: auto; max-width: 100%; }
.heat { display: flex; flex-direction: column; gap: 0.6rem; }
.heat-lab { display: flex; flex-wrap: wrap; gap: 0.35rem; align-items: stretch; }
.heat-lab h3 { flex: 0 0 100%; margin: 0.3rem 0 0; font-size: 1rem; }
.cell { border: 2px solid #333; border-radius: 0.3rem; padding: 0.3rem 0.5rem; min-width: 9rem;
  max-width: 16rem; }
.cell .rate { font-size: 1.2rem; font-weight: 700; }
.cell .rate, .cell .id, .cell .count { background: rgba(255,255,255,0.88); padding: 0 0.2rem;
  border-radius: 0.2rem; }
.cell .id { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.85rem; overflow-wrap: anywhere; }
.r0 { background-color: #c62828; background-image: repeating-linear-gradient(45deg,
  transparent 0 4px, rgba(0,0,0,0.35) 4px 7px); }
.r1 { background-color: #ef6c00; background-image: repeating-linear-gradient(45deg,
  transparent 0 7px, rgba(0,0,0,0.3) 7px 9px); }
.r2 { background-color: #f9c74f; background-image: radial-gradient(rgba(0,0,0,0.35) 1.3px,
  transparent 1.5px); background-size: 7px 7px; }
.r3 { background-color: #a5d6a7; }
.r4 { background-color: #e8f5e9; }
.rn { background-color: #eee; border-style: dashed; }
.badge { display: inline-block; border: 1px solid currentColor; border-radius: 0.3rem;
  padding: 0 0.3rem; font-size: 0.8rem; font-weight: 700; }
.hidden-check { color: #5b2c86; }
.students { overflow-x: auto; }
.roster-head, .roster summary { display: grid; grid-template-columns: var(--cols); gap: 0 0.5rem;
  align-items: center; padding: 0.3rem 0.4rem; }
.roster-head { font-weight: 700; border-bottom: 2px solid var(--ink); }
.roster details { border-bottom: 1px solid var(--line); }
.roster summary { cursor: pointer; list-style: none; }
.roster summary::-webkit-details-marker { display: none; }
.roster summary .toggle::before { content: "▸ "; }
.roster details[open] summary .toggle::before { content: "▾ "; }
.roster summary:hover { background: #eef3f8; }
.roster .score { font-variant-numeric: tabular-nums; }
.roster .full { color: var(--pass); font-weight: 700; }
.roster .zero { color: var(--fail); font-weight: 700; }
.detail { padding: 0.3rem 1rem 0.8rem 1.6rem; }
.detail h4 { margin: 0.6rem 0 0.2rem; }
.detail ul { list-style: none; padding-left: 0; margin: 0; }
.detail li { margin: 0.35rem 0; }
.detail pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.2rem 0 0 1.4rem;
  font-size: 0.85rem; background: #fff; border: 1px solid var(--line); padding: 0.3rem 0.5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** The five bands of the heat map, lowest pass rate first. */
const BANDS = [
  { cls: "r0", words: "under 20 %: most of the class fails it", pattern: "dense stripes" },
  { cls: "r1", words: "20 % to under 50 %", pattern: "wide stripes" },
  { cls: "r2", words: "50 % to under 80 %", pattern: "dots" },
  { cls: "r3", words: "80 % to under 100 %", pattern: "plain green" },
  { cls: "r4", words: "100 %: everyone passes it", pattern: "plain, pale" },
];

function band(rate: number, total: number): string {
  if (total === 0) return "rn";
  if (rate < 0.2) return "r0";
  if (rate < 0.5) return "r1";
  if (rate < 0.8) return "r2";
  return rate < 1 ? "r3" : "r4";
}

const e = (text: string) => escapeHtml(sanitize(text));
const pct = (rate: number) => `${Math.round(rate * 100)} %`;
const num = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

function hiddenBadge(hidden: boolean): string {
  return hidden
    ? ` <span class="badge hidden-check" title="instructor-only: never shown in the student runner">hidden</span>`
    : "";
}

function glance(checks: CheckSummary[]): string {
  const failing = checks.filter((c) => c.total > 0 && c.passRate < 1).slice(0, 5);
  if (!failing.length) {
    return `<p>Every check was passed by every student graded on it.</p>`;
  }
  return `<ol class="glance">${
    failing.map((c) =>
      `<li><strong>${pct(c.passRate)}</strong> passed <code>${e(labColumn(c.lab))} ${
        e(c.id)
      }</code>${hiddenBadge(c.hidden)}: ${
        e(c.title)
      } <span class="muted">(${c.passed} of ${c.total})</span></li>`
    ).join("")
  }</ol>`;
}

function labTable(report: GradeReport): string {
  const s = summarize(report);
  const rows = s.labs.map((l) => {
    const meta = report.labs.find((m) => m.id === l.id);
    return `<tr><th scope="row"><code>${e(l.id)}</code></th><td>${e(meta?.title ?? "")}${
      meta?.error ? ` <span class="fail">(${e(meta.error)})</span>` : ""
    }</td><td class="num">${num(l.points.mean)}</td><td class="num">${
      num(l.points.median)
    }</td><td class="num">${
      num(l.maxScore)
    }</td><td class="num">${l.full}</td><td class="num">${l.submitted}</td><td class="num">${l.notAttempted}</td></tr>`;
  }).join("");
  return `<div class="scroll" tabindex="0" role="group" aria-label="points per lab"><table>
<caption class="visually-hidden">Points per lab across the class</caption>
<thead><tr><th scope="col">lab</th><th scope="col">title</th><th scope="col" class="num">mean</th><th scope="col" class="num">median</th><th scope="col" class="num">out of</th><th scope="col" class="num">full marks</th><th scope="col" class="num">submitted</th><th scope="col" class="num">not attempted</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th scope="row">total</th><td></td><td class="num">${
    num(s.points.mean)
  }</td><td class="num">${num(s.points.median)}</td><td class="num">${
    num(s.maxScore)
  }</td><td></td><td></td><td></td></tr></tfoot>
</table></div>`;
}

function heatMap(report: GradeReport, checks: CheckSummary[]): string {
  const byKey = new Map(checks.map((c) => [`${c.lab}\u0000${c.id}`, c]));
  const labs = report.labs.map((lab) => {
    const cells = lab.checks.map((meta) => {
      const c = byKey.get(`${lab.id}\u0000${meta.id}`);
      const total = c?.total ?? 0;
      const rate = c?.passRate ?? 0;
      const said = `${lab.id} ${meta.id}${meta.hidden ? " (hidden)" : ""}: ${
        total ? `${pct(rate)} passed, ${c!.passed} of ${total}` : "nobody graded"
      }. ${meta.title}`;
      return `<li class="cell ${band(rate, total)}" data-lab="${e(lab.id)}" data-check="${
        e(meta.id)
      }" data-rate="${total ? rate.toFixed(4) : ""}" title="${e(said)}"><span class="rate">${
        total ? pct(rate) : "–"
      }</span> <span class="count">${c?.passed ?? 0}/${total}</span>${
        hiddenBadge(meta.hidden)
      }<br><span class="id">${e(meta.id)}</span><span class="visually-hidden">: ${
        e(meta.title)
      }</span></li>`;
    }).join("");
    return `<div class="heat-lab"><h3><code>${e(lab.id)}</code> ${
      e(lab.title)
    }</h3><ul class="heat-lab" aria-label="checks of ${
      e(lab.id)
    }" style="list-style:none;padding:0;margin:0">${
      cells || `<li class="muted">no checks${lab.error ? `: ${e(lab.error)}` : ""}</li>`
    }</ul></div>`;
  }).join("");
  const legend = BANDS.map((b) =>
    `<li><span class="cell ${b.cls}" style="display:inline-block;min-width:3rem" aria-hidden="true">&nbsp;</span> ${b.words} (${b.pattern})</li>`
  ).join("");
  return `<div class="heat">${labs}</div>
<details><summary>How to read the heat map</summary><ul style="list-style:none;padding:0">${legend}</ul>
<p class="muted">Each box is one check: the share that passed it of the students who attempted its lab (handed in a file that is not the stub unchanged, graded without a grading problem), how many of how many, and its id. Hover for its title.</p></details>`;
}

function checkItem(c: CheckGrade): string {
  const mark = c.status === "passed" ? "✓" : c.status === "failed" ? "✗" : "–";
  const cls = c.status === "passed" ? "pass" : c.status === "failed" ? "fail" : "skip";
  const lines: string[] = [];
  if (c.status !== "passed" && c.message) lines.push(c.message);
  if (c.details?.expected) lines.push(`expected: ${c.details.expected}`);
  if (c.details?.observed) lines.push(`observed: ${c.details.observed}`);
  if (c.details?.mistake) lines.push(`likely mistake: ${c.details.mistake}`);
  if (c.details?.kernel) lines.push(`the grading kernel: ${c.details.kernel}`);
  const printed = formatOutput(c.output, { maxLines: 6 });
  if (printed.length) lines.push("printed by the student's code:", ...printed);
  const text = lines.join("\n");
  return `<li data-check="${
    e(c.id)
  }" data-status="${c.status}"><strong class="${cls}">${mark} ${c.status}</strong> <code>${
    e(c.id)
  }</code>${hiddenBadge(c.hidden)} ${e(c.title)} <span class="muted">(${num(c.score)}/${
    num(c.maxScore)
  })</span>${c.internalError ? ` <span class="badge fail">grader problem</span>` : ""}${
    text ? `<pre>${e(text.length > 4000 ? `${text.slice(0, 4000)}\n… (cut)` : text)}</pre>` : ""
  }</li>`;
}

function labDetail(grade: LabGrade): string {
  const status = grade.status === "missing"
    ? ` <span class="muted">not submitted</span>`
    : grade.status === "error"
    ? ` <span class="fail">not graded: ${e(grade.error ?? "a grading problem")}</span>`
    : "";
  return `<h4><code>${e(grade.id)}</code> ${num(grade.score)}/${num(grade.maxScore)}${status}${
    grade.file ? ` <span class="muted">· ${e(grade.file)}</span>` : ""
  }</h4>${
    grade.status === "graded" || grade.checks.some((c) => c.message)
      ? `<ul>${grade.checks.map(checkItem).join("")}</ul>`
      : ""
  }`;
}

function scoreCell(grade: LabGrade | undefined, labId: string): string {
  const label = `lab ${labColumn(labId)}: `;
  if (!grade) return `<span class="score muted">–</span>`;
  if (grade.status === "missing") {
    return `<span class="score muted"><span class="visually-hidden">${label}</span>– <span class="visually-hidden">not submitted</span></span>`;
  }
  if (grade.status === "error") {
    return `<span class="score fail"><span class="visually-hidden">${label}</span>ERR</span>`;
  }
  const cls = grade.score === grade.maxScore ? " full" : grade.score === 0 ? " zero" : "";
  return `<span class="score${cls}"><span class="visually-hidden">${label}</span>${
    num(grade.score)
  }<span class="muted">/${num(grade.maxScore)}</span></span>`;
}

function studentRow(report: GradeReport, s: StudentGrade): string {
  const rejected = s.status === "rejected";
  const failed = s.labs.flatMap((l) => l.checks).filter((c) => c.status === "failed").length;
  const cells = report.labs.map((lab) => scoreCell(s.labs.find((g) => g.id === lab.id), lab.id))
    .join("");
  const total = rejected
    ? `<span class="score muted">not graded</span>`
    : `<span class="score"><strong>${num(s.score)}</strong>/${num(s.maxScore)}</span>`;
  const notes = s.notes.length
    ? `<ul>${s.notes.map((n) => `<li class="muted">note: ${e(n)}</li>`).join("")}</ul>`
    : "";
  return `<details data-student="${e(s.name)}"><summary><span class="toggle"><strong>${
    e(s.name)
  }</strong><span class="visually-hidden">, ${failed} failed check${
    failed === 1 ? "" : "s"
  }</span></span>${cells}${total}</summary><div class="detail">${notes}${
    s.labs.map(labDetail).join("")
  }</div></details>`;
}

/**
 * The class report as one HTML document.
 *
 * @example
 * ```ts ignore
 * Deno.writeTextFileSync("grades/class.html", formatHtml(report));
 * ```
 */
export function formatHtml(report: GradeReport): string {
  const s = summarize(report);
  const cols =
    `minmax(10rem, 1.5fr) repeat(${report.labs.length}, minmax(4rem, auto)) minmax(5rem, auto)`;
  const head = `<div class="roster-head" aria-hidden="true"><span>student</span>${
    report.labs.map((l) => `<span title="${e(l.title)}">${e(labColumn(l.id))}</span>`).join("")
  }<span>total</span></div>`;
  const problems = report.problems.length
    ? `<section aria-labelledby="problems-h"><h2 id="problems-h" class="fail">Grading problems</h2><ul>${
      report.problems.map((p) => `<li>${e(p)}</li>`).join("")
    }</ul></section>`
    : "";
  const graded = new Date(report.gradedAt);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mmap-lab class report · ${e(report.gradedAt.slice(0, 10))}</title>
<style>${BASE_CSS}${REPORT_CSS}</style>
</head>
<body>
<header>
  <h1>mmap-lab class report</h1>
  <p class="summary-line">${s.students} student${s.students === 1 ? "" : "s"} graded${
    s.rejected ? ` (${s.rejected} entr${s.rejected === 1 ? "y" : "ies"} not graded)` : ""
  } on ${report.labs.length} lab${report.labs.length === 1 ? "" : "s"} · mean ${
    num(s.points.mean)
  } / ${num(s.maxScore)} points, median ${num(s.points.median)}</p>
  <p class="muted">graded ${e(graded.toISOString().replace("T", " ").slice(0, 16))} UTC in ${
    (report.durationMs / 1000).toFixed(1)
  } s${report.kernel ? ` · kernel: ${e(kernelLabel(report.kernel))}` : ""}</p>
</header>
<main>
${problems}
<section aria-labelledby="glance-h">
  <h2 id="glance-h">At a glance: the checks failed most</h2>
  ${glance(s.checks)}
</section>
<section aria-labelledby="labs-h">
  <h2 id="labs-h">Points per lab</h2>
  ${labTable(report)}
</section>
<section aria-labelledby="heat-h">
  <h2 id="heat-h">Every check's pass rate</h2>
  ${heatMap(report, s.checks)}
</section>
<section aria-labelledby="students-h">
  <h2 id="students-h">Students</h2>
  <p class="muted">Open a row for that student's result of every check: the message, what was expected and observed, the likely mistake. <span class="badge hidden-check">hidden</span> marks instructor-only checks.</p>
  <div class="students" tabindex="0" role="group" aria-label="students"><div class="roster" style="--cols: ${cols}">
  ${head}
  ${report.students.map((st) => studentRow(report, st)).join("\n")}
  </div></div>
</section>
</main>
</body>
</html>
`;
}
