/**
 * What the web pages share: the page states as they are drawn (a letter, a
 * name, a meaning, a colour and a pattern: never colour alone), the base
 * style sheet, and HTML escaping. Everything inline: the pages load nothing
 * from anywhere, so they work offline and from a file.
 *
 * @module
 */

import type { WebPageState } from "./run_data.ts";

/** How one page state is drawn. */
export interface StateLook {
  /** The letter in the page's cell. */
  letter: string;
  /** Its name in the legend. */
  name: string;
  /** What it means, in a sentence. */
  meaning: string;
}

/** Every page state the web page draws, in legend order. */
export const STATES: Record<WebPageState, StateLook> = {
  absent: {
    letter: "·",
    name: "absent",
    meaning: "not in memory: never touched, or given back",
  },
  zero: {
    letter: "0",
    name: "zero page",
    meaning: "only read: the kernel's one shared page of zeros",
  },
  file: {
    letter: "F",
    name: "file page",
    meaning: "the file's page-cache page itself",
  },
  copied: {
    letter: "C",
    name: "private copy",
    meaning: "copied on write: your process's own copy of a file page",
  },
  own: {
    letter: "A",
    name: "own page",
    meaning: "anonymous memory of your own (written, or read where there is no zero page)",
  },
  shared: {
    letter: "S",
    name: "shared memory",
    meaning: "a page other processes map too (memfd, MAP_SHARED|MAP_ANONYMOUS)",
  },
  swapped: {
    letter: "W",
    name: "swapped out",
    meaning: "in swap, not in RAM",
  },
  dirty: {
    letter: "D",
    name: "dirty",
    meaning: "a file page written in memory, not yet on disk",
  },
  clean: {
    letter: "K",
    name: "clean after msync",
    meaning: "was dirty, now written back to the file: kept in sync",
  },
  guard: {
    letter: "G",
    name: "guard (PROT_NONE)",
    meaning: "no access at all: any touch is a SIGSEGV",
  },
};

/** Colours and patterns of the page states (background only: the letter is the text channel). */
const STATE_CSS = `
.s-absent { background: #fff; border-style: dashed; color: #555; }
.s-zero { background-color: #eef2f5; background-image: radial-gradient(#7a8a99 1.2px, transparent 1.4px);
  background-size: 6px 6px; }
.s-file { background-color: #cfe3fb; background-image: repeating-linear-gradient(45deg,
  transparent 0 5px, #8fb8ea 5px 7px); }
.s-copied { background-color: #f7c6bd; background-image: repeating-linear-gradient(45deg,
  transparent 0 5px, #d9705d 5px 7px), repeating-linear-gradient(-45deg, transparent 0 5px,
  #d9705d 5px 7px); }
.s-own { background-color: #cdeccf; background-image: repeating-linear-gradient(90deg,
  transparent 0 5px, #6fbf75 5px 7px); }
.s-shared { background-color: #e5d4f3; background-image: repeating-linear-gradient(0deg,
  transparent 0 5px, #a57cc9 5px 7px); }
.s-swapped { background-color: #fff1b8; background-image: linear-gradient(45deg, #e0c35c 25%,
  transparent 25% 75%, #e0c35c 75%); background-size: 10px 10px; }
.s-dirty { background-color: #ffd8a8; background-image: repeating-linear-gradient(-45deg,
  transparent 0 3px, #e8913a 3px 5px); }
.s-clean { background-color: #c9efe8; background-image: linear-gradient(0deg, #4fb3a2 0 4px,
  transparent 4px); }
.s-guard { background-color: #3b3b3b; color: #fff; background-image:
  repeating-linear-gradient(45deg, transparent 0 6px, #777 6px 7px),
  repeating-linear-gradient(-45deg, transparent 0 6px, #777 6px 7px); }
`;

/**
 * The style sheet both pages start from: system fonts, sizes in `rem`/`em`
 * (so zoom scales everything), wrapping layouts that still read at 200 %,
 * visible focus, and the page states' looks.
 *
 * @example
 * ```ts
 * console.log(BASE_CSS.includes(".s-copied")); // true
 * ```
 */
export const BASE_CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #4a5560; --line: #c4ccd4; --bg: #fafbfc;
  --pass: #1f7a35; --fail: #b3261e; --skip: #6b5a00; --focus: #0b57d0; }
* { box-sizing: border-box; }
body { margin: 0; font: 1rem/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  background: var(--bg); }
header, main, footer { max-width: 80rem; margin: 0 auto; padding: 0.75rem 1rem; }
h1 { font-size: 1.5rem; margin: 0.25rem 0; }
h2 { font-size: 1.2rem; margin: 1rem 0 0.5rem; }
h3 { font-size: 1.05rem; margin: 0.5rem 0; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
  font-size: 0.9rem; }
button { font: inherit; padding: 0.35rem 0.8rem; border: 2px solid var(--ink); border-radius: 0.3rem;
  background: #fff; color: var(--ink); cursor: pointer; }
button:disabled { opacity: 0.45; cursor: default; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.muted { color: var(--muted); }
.pass { color: var(--pass); }
.fail { color: var(--fail); }
.skip { color: var(--skip); }
.page { display: inline-flex; flex-direction: column; align-items: center; justify-content: center;
  width: 2.4em; height: 2.6em; border: 2px solid #333; border-radius: 0.2em; font-weight: 700;
  line-height: 1; }
.page .pn { font-size: 0.65em; font-weight: 400; background: rgba(255,255,255,0.85); color: #222;
  padding: 0 0.15em; border-radius: 0.2em; }
.page .pl { font-size: 1.05em; background: rgba(255,255,255,0.85); color: #111;
  padding: 0.05em 0.2em; border-radius: 0.2em; margin-top: 0.15em; }
.s-guard .pl, .s-guard .pn { background: #000; color: #fff; }
.page.changed { border-width: 4px; border-color: #000; }
.swatch { width: 2em; height: 2em; display: inline-flex; }
@media (forced-colors: active) { .page { border: 2px solid CanvasText; } }
${STATE_CSS}`;

/**
 * Escapes text for HTML (element content and quoted attribute values).
 *
 * @example
 * ```ts
 * console.log(escapeHtml('<b title="x">&</b>')); // "&lt;b title=&quot;x&quot;&gt;&amp;&lt;/b&gt;"
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) =>
      c === "&"
        ? "&amp;"
        : c === "<"
        ? "&lt;"
        : c === ">"
        ? "&gt;"
        : c === '"'
        ? "&quot;"
        : "&#39;",
  );
}
