/**
 * The student's page of `deno task lab web`: one self-contained HTML file
 * (inline style and script, nothing fetched from elsewhere). The script
 * reads `/run.json` from the server that served it, draws the mapping of
 * the chosen step as a strip of pages, the calls beside it, the numbers and
 * the checks, steps with ← and →, and follows every new run through
 * server-sent events (`/events`).
 *
 * @module
 */

import { BASE_CSS, escapeHtml, STATES } from "./style.ts";

const PAGE_CSS = `
.top { display: flex; flex-wrap: wrap; gap: 0.5rem 1.5rem; align-items: baseline; }
.status { margin: 0.25rem 0; }
#conn { font-size: 0.9rem; }
.columns { display: flex; flex-wrap: wrap; gap: 1rem 2rem; align-items: flex-start; }
#picture { flex: 3 1 30rem; min-width: 0; }
#calls { flex: 2 1 22rem; min-width: 0; }
.stepper { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; margin: 0.5rem 0; }
#pos { font-weight: 700; min-width: 8em; }
.strip { list-style: none; display: flex; flex-wrap: wrap; gap: 0.3rem; padding: 0; margin: 0.5rem 0; }
.numbers { display: grid; grid-template-columns: minmax(6em, max-content) minmax(0, 1fr); gap: 0.1rem 1rem;
  margin: 0.5rem 0; }
.numbers dt { color: var(--muted); }
.numbers dd { margin: 0; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 0.25rem 0.5rem; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
.legend td.count { text-align: right; font-variant-numeric: tabular-nums; }
.timeline { position: relative; list-style: none; padding: 0; margin: 0; max-height: 34rem;
  overflow: auto;
  border: 1px solid var(--line); background: #fff; }
.timeline li { padding: 0.15rem 0.5rem; border-left: 0.35rem solid transparent; }
.timeline li.call { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.85rem; overflow-wrap: anywhere; }
.timeline li.call.error { color: var(--fail); }
.timeline li.now { border-left-color: var(--focus); background: #e8f0fe; }
.timeline li.call.now::before { content: "▶ "; }
.timeline li.marker { padding: 0.3rem 0.5rem; background: #f1f3f5; }
.timeline li.marker button { border-width: 1px; text-align: left; width: 100%; }
.timeline li.marker.now button { border-width: 3px; border-color: var(--focus); font-weight: 700; }
.checks { list-style: none; padding: 0; }
.checks li { margin: 0.3rem 0; }
.kernel dt { font-weight: 700; }
.kernel dd { margin: 0 0 0.5rem 1rem; }
.note { border-left: 0.3rem solid #e8913a; padding-left: 0.5rem; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #fff; border: 1px solid var(--line);
  padding: 0.5rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** The page's script: plain JavaScript, no `${` and no backquote inside. */
const CLIENT_JS = String.raw`
"use strict";
const $ = (id) => document.getElementById(id);
const KIND = {
  "file-private": "a private file mapping (MAP_PRIVATE)",
  "file-shared": "a shared file mapping (MAP_SHARED)",
  "anonymous-private": "private anonymous memory",
  "anonymous-shared": "shared memory",
};
let data = null;
let step = 0;

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== undefined && c !== null) e.append(c);
  return e;
}
const kB = (bytes) => (bytes / 1024) + " kB";
const plural = (n, word) => n + " " + word + (n === 1 ? "" : "s");
const frames = () => (data && data.record && data.record.picture ? data.record.picture.frames : []);

function counts(pages) {
  const out = new Map();
  for (const p of pages) out.set(p, (out.get(p) || 0) + 1);
  return out;
}

function describeFrame(frame) {
  const parts = [];
  for (const [state, n] of counts(frame.pages)) parts.push(n + " " + STATES[state].name);
  return parts.join(", ");
}

function renderHeader() {
  const r = data.record;
  document.title = "Lab " + r.lab.number + " · " + r.lab.title + " · mmap-lab";
  $("title").textContent = "Lab " + r.lab.number + " · " + r.lab.title;
  $("goal").textContent = r.lab.goal;
  $("file").textContent = r.lab.file;
  const v = r.verdict;
  const verdict = $("verdict");
  verdict.className = v ? (v.passed ? "pass" : "fail") : "muted";
  verdict.textContent = v
    ? (v.passed ? "✓ passes: " : "✗ does not pass yet: ") + v.tally
    : "checks not recorded in this run";
  const when = new Date(r.recordedAt);
  $("recorded").textContent = "run recorded at " + when.toLocaleTimeString() +
    (data.stale ? " · your file changed since: save or run again to see it" : "");
  document.body.dataset.recordedAt = r.recordedAt;
}

function renderStep() {
  const list = frames();
  const strip = $("strip");
  strip.replaceChildren();
  const nav = list.length > 0;
  $("stepper").hidden = !nav;
  $("frame").hidden = !nav;
  if (!nav) return;
  step = Math.max(0, Math.min(step, list.length - 1));
  document.body.dataset.step = String(step);
  const frame = list[step];
  $("pos").textContent = "Step " + (step + 1) + " of " + list.length;
  $("prev").disabled = step === 0;
  $("next").disabled = step === list.length - 1;
  $("frame-title").textContent = frame.title;
  const ps = data.record.picture.pageSize;
  $("kind").textContent = (frame.kind ? KIND[frame.kind] + ", " : "") +
    plural(frame.pages.length, "page") + " of " + kB(ps);
  strip.setAttribute("aria-label", "pages of the mapping at step " + (step + 1) + ": " +
    describeFrame(frame));
  const before = step > 0 && list[step - 1].pages.length === frame.pages.length
    ? list[step - 1].pages
    : null;
  const changes = new Map();
  frame.pages.forEach((state, i) => {
    const look = STATES[state];
    const changed = before !== null && before[i] !== state;
    if (changed) {
      const key = STATES[before[i]].name + " → " + look.name;
      changes.set(key, (changes.get(key) || []).concat([i]));
    }
    const said = "page " + i + ": " + look.name + (changed ? ", changed since the last step" : "");
    strip.append(el("li", {
      class: "page s-" + state + (changed ? " changed" : ""),
      "data-page": i,
      "data-state": state,
      title: said + " (" + look.meaning + ")",
    }, el("span", { class: "pn", "aria-hidden": "true", text: i + (changed ? "*" : "") }),
      el("span", { class: "pl", "aria-hidden": "true", text: look.letter }),
      el("span", { class: "visually-hidden", text: said })));
  });
  const changeList = [];
  for (const [key, pages] of changes) {
    changeList.push(key + ": " + (pages.length === 1 ? "page " : "pages ") + pages.join(", "));
  }
  $("changes").textContent = step === 0
    ? "The first step."
    : changeList.length
    ? "Changed since the last step (marked *): " + changeList.join("; ") + "."
    : "No page changed state since the last step.";
  const note = $("note");
  note.hidden = !frame.note;
  note.textContent = frame.note || "";
  const numbers = $("numbers");
  numbers.replaceChildren();
  const row = (term, value) => numbers.append(el("dt", { text: term }), el("dd", { text: value }));
  const s = frame.smaps;
  row("Rss (in RAM)", kB(s.rss));
  row("Private_Dirty", kB(s.privateDirty));
  row("Private_Clean", kB(s.privateClean));
  row("Shared_Dirty", kB(s.sharedDirty));
  row("Anonymous", kB(s.anonymous));
  row("faults since the last step", frame.faults
    ? plural(frame.faults.minor, "minor fault") + ", " + frame.faults.major +
      " major (your code's thread; Deno's own work adds a few)"
    : "(first step)");
  const legend = $("legend-body");
  legend.replaceChildren();
  // Every state any step of the run shows, so that the table stays put while stepping.
  const seen = counts(frame.pages);
  const inRun = new Set(list.flatMap((f) => f.pages));
  for (const [state, look] of Object.entries(STATES)) {
    const n = seen.get(state) || 0;
    if (!inRun.has(state)) continue;
    legend.append(el("tr", { "data-state": state },
      el("td", {}, el("span", { class: "page swatch s-" + state, "aria-hidden": "true" },
        el("span", { class: "pl", text: look.letter }))),
      el("th", { scope: "row", text: look.name }),
      el("td", { text: look.meaning }),
      el("td", { class: "count", text: String(n) })));
  }
  // The calls beside the pictures: those that led to this step are marked.
  for (const li of document.querySelectorAll("#timeline li")) {
    const now = Number(li.dataset.step) === step;
    li.classList.toggle("now", now);
    if (li.classList.contains("marker")) {
      const button = li.querySelector("button");
      if (now) button.setAttribute("aria-current", "step");
      else button.removeAttribute("aria-current");
    }
  }
  // Scroll the list of calls (only it, never the page) to show this step's marker.
  const marker = document.querySelector("#timeline li.marker.now");
  const box = $("timeline");
  if (marker) {
    const top = marker.offsetTop;
    if (top < box.scrollTop || top + marker.offsetHeight > box.scrollTop + box.clientHeight) {
      box.scrollTop = Math.max(0, top - box.clientHeight / 3);
    }
  }
  const made = document.querySelectorAll("#timeline li.call.now").length;
  const placed = list.every((f) => typeof f.callsBefore === "number");
  $("step-calls").textContent = !placed
    ? "This picture does not say which calls came before each step."
    : made
    ? plural(made, "call") + " since the last step, marked ▶ in the list of calls."
    : step === 0
    ? ""
    : "No libc call since the last step: what changed, your code's loads and stores did " +
      "(each first touch of a page is a page fault).";
}

function renderTimeline() {
  const list = $("timeline");
  list.replaceChildren();
  const p = data.record.picture;
  if (!p) return;
  let from = 0;
  const addCalls = (to, stepIndex) => {
    for (let i = from; i < Math.min(to, p.calls.length); i++) {
      const c = p.calls[i];
      list.append(el("li", {
        class: "call" + (c.error ? " error" : ""),
        "data-step": stepIndex,
        text: c.text,
      }));
    }
    from = Math.max(from, to);
  };
  // A picture that does not say where it was taken among the calls: the calls, then the steps.
  const placed = p.frames.every((f) => typeof f.callsBefore === "number");
  if (!placed) addCalls(p.calls.length, -1);
  p.frames.forEach((f, k) => {
    if (placed) addCalls(f.callsBefore, k);
    list.append(el("li", { class: "marker", "data-step": k },
      el("button", { type: "button", on: { click: () => go(k) } },
        "Step " + (k + 1) + ": " + f.title)));
  });
  addCalls(p.calls.length, p.frames.length);
  if (p.moreCalls) list.append(el("li", { class: "muted", text: "… " + p.moreCalls + " more calls" }));
  if (!p.calls.length) list.append(el("li", { class: "muted", text: "no calls recorded" }));
}

function renderChecks() {
  const ul = $("checks");
  ul.replaceChildren();
  const v = data.record.verdict;
  $("type-error").hidden = !(v && v.typeError);
  $("type-error").textContent = v && v.typeError ? "type error: " + v.typeError : "";
  if (!v) {
    ul.append(el("li", { class: "muted", text: "Run the lab to see its checks." }));
    return;
  }
  if (v.error) ul.append(el("li", { class: "fail", text: v.error }));
  for (const c of v.checks) {
    const mark = c.status === "passed" ? "✓ passed" : c.status === "failed" ? "✗ failed" : "– skipped";
    const cls = c.status === "passed" ? "pass" : c.status === "failed" ? "fail" : "skip";
    ul.append(el("li", { "data-check": c.id, "data-status": c.status },
      el("strong", { class: cls, text: mark }), " ",
      el("code", { text: c.id }), " " + c.title + " (" + c.score + "/" + c.maxScore + ")",
      c.message ? el("div", { class: cls, text: c.message }) : null));
  }
}

function renderKernel() {
  const dl = $("kernel");
  dl.replaceChildren();
  for (const line of data.record.kernel) {
    dl.append(el("dt", { text: line.what }),
      el("dd", {}, line.here + (line.textbook ? " (≠ textbook: " + line.textbook + ")" : ""),
        el("br"), el("span", { class: "muted", text: line.means })));
  }
}

function renderPicture() {
  const p = data.record.picture;
  const empty = $("no-picture");
  const failure = $("failure");
  failure.hidden = !(p && p.failure);
  failure.textContent = p && p.failure ? p.failure : "";
  empty.hidden = !!(p && p.frames.length);
  if (!p) {
    empty.textContent = "This lab has no picture of its pages." +
      (data.withPicture.length ? " Labs with one: " + data.withPicture.join(", ") + "." : "");
  } else if (!p.frames.length) {
    empty.textContent = "No picture in this run: your code stopped before the first one.";
  }
  const printed = $("printed");
  printed.hidden = !(p && p.printed.length);
  $("printed-text").textContent = p ? p.printed.join("\n") : "";
}

function renderAll() {
  $("missing").hidden = true;
  $("content").hidden = false;
  renderHeader();
  renderPicture();
  renderTimeline();
  renderChecks();
  renderKernel();
  renderStep();
}

function announce(text) {
  $("live").textContent = text;
}

function go(k) {
  const list = frames();
  if (!list.length) return;
  const next = Math.max(0, Math.min(k, list.length - 1));
  if (next === step && document.body.dataset.step === String(step)) return;
  step = next;
  renderStep();
  announce("Step " + (step + 1) + " of " + list.length + ": " + list[step].title + ". " +
    describeFrame(list[step]) + ".");
}

async function load(isUpdate) {
  let response;
  try {
    response = await fetch("/run.json", { cache: "no-store" });
  } catch {
    return;
  }
  const next = await response.json();
  if (!next.record) {
    data = null;
    $("content").hidden = true;
    $("missing").hidden = false;
    $("missing").textContent = next.message;
    return;
  }
  const before = data && data.record ? data.record.recordedAt : null;
  data = next;
  renderAll();
  if (isUpdate && before !== data.record.recordedAt) {
    announce("New run recorded at " + new Date(data.record.recordedAt).toLocaleTimeString() +
      ". " + (data.record.verdict ? data.record.verdict.tally + "." : ""));
  }
  running(false);
}

function running(on) {
  $("run").disabled = on;
  $("run").textContent = on ? "Running…" : "Run again";
}

document.addEventListener("keydown", (e) => {
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  const t = e.target;
  if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
  const moves = { ArrowLeft: step - 1, ArrowRight: step + 1, Home: 0, End: frames().length - 1 };
  if (!(e.key in moves)) return;
  if (!frames().length) return;
  e.preventDefault();
  go(moves[e.key]);
});
$("prev").addEventListener("click", () => go(step - 1));
$("next").addEventListener("click", () => go(step + 1));
$("run").addEventListener("click", () => {
  running(true);
  fetch("/run", { method: "POST", headers: { "X-Mmap-Lab": "run" } }).catch(() => running(false));
});

const events = new EventSource("/events");
events.addEventListener("run", () => load(true));
events.addEventListener("running", () => running(true));
events.addEventListener("idle", () => running(false));
events.addEventListener("open", () => {
  $("conn").textContent = "live: this page follows every run of the lab";
});
events.addEventListener("error", () => {
  $("conn").textContent = "not connected: is deno task lab web still running?";
});
load(false);
`;

/**
 * The student's page (HTML, self-contained).
 *
 * @example
 * ```ts
 * console.log(labPageHtml().startsWith("<!doctype html>")); // true
 * ```
 */
export function labPageHtml(): string {
  const states = JSON.stringify(STATES);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mmap-lab</title>
<style>${BASE_CSS}${PAGE_CSS}</style>
</head>
<body>
<a class="visually-hidden" href="#picture">Skip to the picture</a>
<header>
  <p class="muted">mmap-lab · your last run, as the kernel saw it</p>
  <h1 id="title">mmap-lab</h1>
  <p id="goal"></p>
  <div class="top">
    <p class="status"><strong id="verdict"></strong></p>
    <p class="status muted"><span id="recorded"></span> · file <code id="file"></code></p>
    <button type="button" id="run">Run again</button>
  </div>
  <p id="conn" class="muted">connecting…</p>
  <p id="live" class="visually-hidden" aria-live="polite"></p>
</header>
<main>
  <p id="missing" hidden></p>
  <div id="content" hidden>
    <p id="type-error" class="fail" hidden></p>
    <div class="columns">
      <section id="picture" aria-labelledby="picture-h">
        <h2 id="picture-h">Your mapping, step by step</h2>
        <p id="no-picture" class="muted" hidden></p>
        <pre id="failure" class="fail" hidden></pre>
        <div class="stepper" id="stepper">
          <button type="button" id="prev" aria-keyshortcuts="ArrowLeft">← Previous step</button>
          <span id="pos" aria-live="off"></span>
          <button type="button" id="next" aria-keyshortcuts="ArrowRight">Next step →</button>
          <span class="muted">keys: ← →, Home, End</span>
        </div>
        <div id="frame">
          <h3 id="frame-title"></h3>
          <p id="kind" class="muted"></p>
          <ol class="strip" id="strip"></ol>
          <p id="changes"></p>
          <p id="note" class="note" hidden></p>
          <p id="step-calls" class="muted"></p>
          <dl class="numbers" id="numbers"></dl>
          <table class="legend">
            <caption class="visually-hidden">What the letters and patterns mean, and how many pages of this step show each</caption>
            <thead><tr><th scope="col">looks</th><th scope="col">state</th><th scope="col">meaning</th><th scope="col">pages</th></tr></thead>
            <tbody id="legend-body"></tbody>
          </table>
        </div>
      </section>
      <section id="calls" aria-labelledby="calls-h">
        <h2 id="calls-h">The calls your code made</h2>
        <p class="muted">In order, with each step's picture where it was taken (<code>deno task lab trace</code> lists them per check).</p>
        <ol class="timeline" id="timeline" tabindex="0" aria-label="calls and steps, in order"></ol>
      </section>
    </div>
    <section id="printed" aria-labelledby="printed-h" hidden>
      <h2 id="printed-h">What your code printed</h2>
      <pre id="printed-text"></pre>
    </section>
    <section aria-labelledby="checks-h">
      <h2 id="checks-h">Checks</h2>
      <ul class="checks" id="checks"></ul>
    </section>
    <section aria-labelledby="kernel-h">
      <h2 id="kernel-h">Your kernel, where it matters to this lab</h2>
      <dl class="kernel" id="kernel"></dl>
      <p class="muted"><code>deno task lab doctor</code> shows every fact.</p>
    </section>
  </div>
</main>
<script>
const STATES = ${states};
${CLIENT_JS}
</script>
</body>
</html>
`;
}

/**
 * A small page with a title and one paragraph (escaped), for what the server
 * answers when something is wrong.
 *
 * @example
 * ```ts
 * console.log(messagePage("Not found", "Nothing at /x.").includes("<h1>Not found</h1>")); // true
 * ```
 */
export function messagePage(title: string, text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    escapeHtml(title)
  }</title><style>${BASE_CSS}</style></head><body><main><h1>${escapeHtml(title)}</h1><p>${
    escapeHtml(text)
  }</p></main></body></html>`;
}
