/**
 * Word wrapping for the terminal: lines fitted to the screen's width at word
 * boundaries, continuation lines indented like the line they continue, colour
 * escape codes kept and not counted. The terminal's own wrapping cuts words
 * in two ("page-alig / ned"); this never does, unless one word is wider than
 * the screen.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const ESCAPE = /\x1b\[[0-9;]*m/g;

/**
 * Columns a line takes on screen: escape codes take none, every other
 * character one (the runner prints no wide characters).
 *
 * @example
 * ```ts
 * console.log(visibleLength("\x1b[31mred\x1b[39m")); // 3
 * ```
 */
export function visibleLength(text: string): number {
  return [...text.replace(ESCAPE, "")].length;
}

/** Splits text into escape codes and single visible characters. */
function units(text: string): string[] {
  const out: string[] = [];
  let last = 0;
  for (const m of text.matchAll(ESCAPE)) {
    out.push(...text.slice(last, m.index));
    out.push(m[0]);
    last = m.index + m[0].length;
  }
  out.push(...text.slice(last));
  return out;
}

/**
 * One line wrapped to `width` columns at spaces. Continuation lines get the
 * line's own indentation (and, after a leading `| ` or list marker such as
 * `1. `, line up with the text). A word wider than the room is cut.
 *
 * @example
 * ```ts
 * console.log(wrapLine("  the page-aligned offset of a mapping", 20));
 * // [ "  the page-aligned", "  offset of a", "  mapping" ]
 * ```
 */
export function wrapLine(line: string, width: number): string[] {
  if (width < 8 || visibleLength(line) <= width) return [line];
  const plain = line.replace(ESCAPE, "");
  const lead = /^(\s*(?:[|✓✗·▶] |\d+\. |[a-z]+(?: [a-z]+)?: )?)/.exec(plain)?.[1] ?? "";
  const indent = /^\s*/.exec(plain)![0];
  let hang = " ".repeat(
    lead.length <= width / 2 ? lead.length : indent.length <= width / 2 ? indent.length : 0,
  );
  if (/^\s*[|]/.test(lead)) hang = lead; // quoted output keeps its bar
  const lines: string[] = [];
  let current: string[] = [];
  let used = 0;
  let word: string[] = [];
  let wordLength = 0;
  const room = () => width - used;
  const flushWord = () => {
    if (!word.length) return;
    if (wordLength > room() && used > hang.length) {
      // trailing spaces of the line go
      while (current.length && current[current.length - 1] === " ") {
        current.pop();
      }
      lines.push(current.join(""));
      current = [hang];
      used = hang.length;
    }
    for (const u of word) {
      if (!u.startsWith("\x1b") && used >= width) {
        lines.push(current.join(""));
        current = [hang];
        used = hang.length;
      }
      current.push(u);
      if (!u.startsWith("\x1b")) used++;
    }
    word = [];
    wordLength = 0;
  };
  for (const u of units(line)) {
    if (u === " ") {
      flushWord();
      if (used < width) {
        current.push(u);
        used++;
      }
    } else {
      word.push(u);
      if (!u.startsWith("\x1b")) wordLength++;
    }
  }
  flushWord();
  lines.push(current.join(""));
  return lines;
}

/**
 * Every line of `text` wrapped to `width` columns (see {@link wrapLine}).
 *
 * @example
 * ```ts
 * console.log(wrapText("one two three four\nfive", 10)); // "one two\nthree four\nfive"
 * ```
 */
export function wrapText(text: string, width: number): string {
  return text.split("\n").flatMap((line) => wrapLine(line, width)).join("\n");
}
