/**
 * Fitting watch mode to the terminal: the header (progress, lab, goal, the
 * file to edit) and the first failing check always on screen, every line
 * wrapped at word boundaries, and the rest shortened to one line per check,
 * or left for a key (`a`) or `deno task lab check`, when it does not fit.
 *
 * @module
 */

import { wrapText } from "./wrap.ts";

/** One part of the body: a check, or the lab's heading. */
export interface Block {
  /** Its full text (may span lines). */
  text: string;
  /** Must be on screen (the lab's heading, the first failing check). */
  key?: boolean;
  /** A one-line form for a crowded screen (default: its first line). */
  summary?: string;
}

/** What watch mode shows. */
export interface ScreenParts {
  /** Always shown, at the top. */
  header: string[];
  /** The result, in order. */
  body: Block[];
  /** Always shown, at the bottom (what to do, the keys). */
  footer: string[];
}

/** The fitted screen. */
export interface Screen {
  /** The lines to print, none wider than the screen, at most `rows` of them. */
  lines: string[];
  /** Whether some of the body was left out or shortened. */
  shortened: boolean;
}

const split = (text: string, cols: number) => wrapText(text, cols).split("\n");

/**
 * Fits the parts to `cols` × `rows`.
 *
 * @example
 * ```ts
 * const screen = fitScreen({ header: ["title"], body: [{ text: "a\nb\nc", key: true }],
 *   footer: ["keys"] }, 80, 4);
 * console.log(screen.lines); // [ "title", "a", "… (a: all)", "keys" ]
 * ```
 */
export function fitScreen(
  parts: ScreenParts,
  cols: number,
  rows: number,
  more = "… (a: all)",
): Screen {
  const footer = parts.footer.flatMap((l) => split(l, cols));
  let header = parts.header.flatMap((l) => split(l, cols));
  const room = () => rows - header.length - footer.length;
  const full = parts.body.flatMap((b) => split(b.text, cols));
  if (full.length <= room()) return { lines: [...header, ...full, ...footer], shortened: false };
  const moreLines = split(more, cols);
  // One line per check but the key ones.
  const compact = parts.body.flatMap((b) =>
    b.key ? split(b.text, cols) : split(b.summary ?? b.text.split("\n")[0], cols).slice(0, 1)
  );
  if (compact.length + moreLines.length <= room()) {
    return { lines: [...header, ...compact, ...moreLines, ...footer], shortened: true };
  }
  // The key blocks in full, then as many one-line checks as fit, in order; blank header lines
  // go first when even the key blocks are tight.
  const keyLines = parts.body.map((b) => b.key ? split(b.text, cols) : []);
  const keyCount = keyLines.reduce((n, l) => n + l.length, 0);
  if (keyCount + moreLines.length > room()) header = header.filter((l) => l.trim() !== "");
  let space = room() - moreLines.length - keyCount;
  const chosen = parts.body.map((b, i) => {
    if (b.key) return keyLines[i];
    if (space <= 0) return [];
    space--;
    return split(b.summary ?? b.text.split("\n")[0], cols).slice(0, 1);
  });
  const body = chosen.flat().slice(0, Math.max(0, room() - moreLines.length));
  return {
    lines: [...header, ...body, ...moreLines, ...footer].slice(0, Math.max(rows, 1)),
    shortened: true,
  };
}
