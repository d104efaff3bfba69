/**
 * Pictures of memory: a mapping's pages drawn as a row of glyphs, one per
 * page, so a student can *see* copy-on-write or lazy allocation happen.
 *
 * @module
 */

import type { PageState } from "./inspect.ts";

/** Options for {@link drawPages}. */
export interface DrawOptions {
  /** Pages per row; default 64. */
  width?: number;
  /** Use colour; default: when stdout is a terminal and `NO_COLOR` is unset. */
  color?: boolean;
  /** Add the legend with a count per state; default true. */
  legend?: boolean;
}

/** ANSI foreground colours (not node:util's styleText: it would load Deno's Node layer). */
const COLORS = { gray: 90, red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36 };
type Style = keyof typeof COLORS;

const GLYPHS: Record<PageState, { glyph: string; style: Style; meaning: string }> = {
  absent: { glyph: "·", style: "gray", meaning: "not present (never touched, or discarded)" },
  zero: { glyph: "0", style: "cyan", meaning: "read only: the shared zero page" },
  file: { glyph: "▒", style: "blue", meaning: "the file's page-cache page itself" },
  copied: { glyph: "█", style: "red", meaning: "copied on write: this process's own copy" },
  own: {
    glyph: "█",
    style: "green",
    meaning: "a private page of its own (written; or read, where no zero page)",
  },
  shared: { glyph: "▓", style: "magenta", meaning: "shared memory page" },
  swapped: { glyph: "s", style: "yellow", meaning: "swapped out" },
};

/** Whether to colour output by default: a terminal, and `NO_COLOR` unset. */
export function colorByDefault(): boolean {
  try {
    return Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  } catch {
    return false;
  }
}

/**
 * Draws one glyph per page, `width` to a row, each row labelled with its
 * first page number, and a legend counting each state.
 *
 * @example
 * ```ts
 * console.log(drawPages([{ state: "file" }, { state: "copied" }, { state: "absent" }], { color: false }));
 * // page 0 │▒█·│
 * //   █ copied on write: this process's own copy  1
 * //   …
 * ```
 */
export function drawPages(
  pages: readonly { state: PageState }[],
  options: DrawOptions = {},
): string {
  const width = options.width ?? 64;
  const color = options.color ?? colorByDefault();
  const paint = (state: PageState) =>
    color
      ? `\x1b[${COLORS[GLYPHS[state].style]}m${GLYPHS[state].glyph}\x1b[39m`
      : GLYPHS[state].glyph;
  const label = String(Math.max(0, pages.length - 1)).length;
  const lines: string[] = [];
  for (let row = 0; row < pages.length; row += width) {
    const cells = pages.slice(row, row + width).map((p) => paint(p.state)).join("");
    lines.push(`page ${String(row).padStart(label)} │${cells}│`);
  }
  if (pages.length === 0) lines.push("(no pages)");
  if (options.legend ?? true) {
    const counts = new Map<PageState, number>();
    for (const p of pages) counts.set(p.state, (counts.get(p.state) ?? 0) + 1);
    for (const [state, count] of counts) {
      lines.push(`  ${paint(state)} ${GLYPHS[state].meaning.padEnd(44)} ${count}`);
    }
  }
  return lines.join("\n");
}
