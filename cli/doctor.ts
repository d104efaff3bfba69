/**
 * `deno task lab doctor`: this machine's kernel profile as a list of facts,
 * each with what it means for the labs, marked where the kernel differs from
 * the textbook, and a verdict on the labs that cannot run here.
 *
 * @module
 */

import { type KernelProfile, TEXTBOOK } from "../lib/profile.ts";
import { paint } from "./ui.ts";

/** One fact of the profile, as the doctor shows it. */
export interface DoctorFact {
  /** What is measured, e.g. "read fault on fresh anonymous memory". */
  what: string;
  /** What this machine does. */
  here: string;
  /** The textbook's answer, where this machine differs from it. */
  textbook?: string;
  /** What it means for the labs. */
  means: string;
}

/** A lab that cannot run, or runs with a check left out, on this machine. */
export interface LabVerdict {
  /** Lab number(s), e.g. "05". */
  labs: string;
  /** What cannot be done, and why. */
  why: string;
  /** Whether the lab cannot be passed at all (`false`: one observation is only noted). */
  blocking: boolean;
}

function kib(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  return bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

function pages(n: number, ps: number): string {
  return `${n} page${n === 1 ? "" : "s"} (${kib(n * ps)})`;
}

/**
 * The facts of a profile, in the order a student meets them in the labs.
 *
 * @example
 * ```ts ignore
 * for (const f of doctorFacts(kernelProfile("."))) console.log(f.what, f.here);
 * ```
 */
export function doctorFacts(p: KernelProfile): DoctorFact[] {
  const ps = p.pageSize;
  const facts: DoctorFact[] = [
    {
      what: "kernel",
      here: `Linux ${p.release} on ${p.arch}${p.wsl ? " (WSL 2)" : ""}, as ${
        p.uid === 0 ? "root" : `user ${p.uid}`
      }`,
      means: "the facts below were measured on it, now; none is taken from a version number",
    },
    {
      what: "page size",
      here: kib(ps),
      textbook: ps === 4096 ? undefined : "4 KiB (16 or 64 KiB on some aarch64 machines)",
      means: "every lab counts in pages of this size; mmap offsets are multiples of it",
    },
    {
      what: "reading fresh private anonymous memory",
      here: p.zeroPage
        ? "maps the shared zero page (nobody's own, not in Rss)"
        : "allocates a zeroed page of the process's own on each read fault",
      textbook: p.zeroPage === TEXTBOOK.zeroPage ? undefined : "maps the shared zero page",
      means: p.zeroPage
        ? "lab 04: pages only read stay out of Rss, and the first write to each faults again"
        : "lab 04: pages only read count in Rss here, and a later write costs no fault; " +
          "`show 04` draws them as pages of your own",
    },
    {
      what: "fault-around (one read fault of a cached file)",
      here: `maps ${pages(p.faultAround.smallWrites, ps)} of a file written in small pieces, ${
        pages(p.faultAround.largeWrite, ps)
      } of one written in a single large write`,
      textbook: p.faultAround.smallWrites === TEXTBOOK.faultAroundPages &&
          p.faultAround.largeWrite === TEXTBOOK.faultAroundPages
        ? undefined
        : `${TEXTBOOK.faultAroundPages} pages (fault_around_bytes, 64 KiB)`,
      means: "labs 01 and 09: how many pages appear after reading one byte" +
        (p.faultAround.largeWrite > p.faultAround.smallWrites
          ? "; large folios make a whole chunk of the page cache appear at once"
          : ""),
    },
    {
      what: "fault-around after MADV_RANDOM",
      here: pages(p.faultAround.random, ps),
      means: "lab 09: MADV_RANDOM " +
        (p.faultAround.random > 1 ? "does not turn fault-around off" : "turns fault-around off") +
        " for pages already cached",
    },
  ];
  const ra = p.readAround;
  facts.push(
    ra
      ? {
        what: "read-around (one read fault of a file not cached)",
        here: `MADV_RANDOM ${pages(ra.random, ps)}, no advice ${
          ra.normal >= ra.filePages
            ? `the whole ${ra.filePages}-page test file`
            : pages(ra.normal, ps)
        }, MADV_SEQUENTIAL ${
          ra.sequential >= ra.filePages ? "the whole test file" : pages(ra.sequential, ps)
        }`,
        textbook: ra.random === TEXTBOOK.readAroundRandom ? undefined : "MADV_RANDOM: 1 page",
        means: "lab 09: a cold lookup with MADV_RANDOM reads only the pages it touches" +
          (ra.random > 1 ? `, times ${ra.random} here: the checker's bound follows` : ""),
      }
      : {
        what: "read-around (one read fault of a file not cached)",
        here: `not measurable: ${p.scratch.fileSystem} keeps no page cache that can be emptied`,
        textbook: "a disk-backed file system",
        means: "lab 09 counts fault-around windows mapped instead of pages read from storage",
      },
  );
  facts.push(
    {
      what: "transparent huge pages",
      here: p.thp ?? "not available",
      means: "the labs turn them off on their own mappings (MADV_NOHUGEPAGE), so counts are " +
        `per ${kib(ps)} page whatever the mode`,
    },
    {
      what: "physical frame numbers in pagemap",
      here: p.frameNumbersVisible ? "visible" : "hidden (zero) for this user",
      means: p.frameNumbersVisible
        ? "lab 03 shows which frame each page sits on"
        : "lab 03 judges copy-on-write by the file and exclusive bits instead (as good)",
    },
    {
      what: "executable anonymous memory (code written at run time, as a JIT does)",
      here: p.execAnonymous === true
        ? "allowed: a page written while read-write became read + execute (mprotect)"
        : p.execAnonymous === false
        ? "refused: mprotect(PROT_READ|PROT_EXEC) failed with EACCES or EPERM, a security " +
          "policy (SELinux execmem, a hardened kernel, a container's profile)"
        : "not measured (deno task lab doctor --fresh measures it)",
      textbook: p.execAnonymous === false ? "allowed (JIT compilers rely on it)" : undefined,
      means: p.execAnonymous === false
        ? "lab 11 cannot run the code it writes here: those checks are skipped with a note"
        : "lab 11 runs the machine code your program writes",
    },
    {
      what: "soft-dirty bits",
      here: p.softDirty ? "work" : "not built into this kernel (CONFIG_MEM_SOFT_DIRTY)",
      means: "no lab depends on them; a way to see which pages were written since a point",
    },
    {
      what: "scratch files",
      here: `${p.scratch.dir} (${p.scratch.fileSystem}): msync ${
        p.scratch.msyncCleans ? "cleans pages" : "cleans no page"
      }${p.scratch.reason ? `; chosen because ${p.scratch.reason}` : ""}`,
      textbook: p.scratch.msyncCleans === TEXTBOOK.msyncCleans
        ? undefined
        : "a file system with writeback (ext4, xfs, btrfs…)",
      means: p.scratch.msyncCleans
        ? "labs 05 and 10 see msync clean dirty pages here"
        : "labs 05 and 10 cannot see msync clean anything: no writeback",
    },
  );
  return facts;
}

/**
 * The labs this machine cannot run in full.
 *
 * @example
 * ```ts ignore
 * doctorVerdicts(kernelProfile(".")).length; // 0 on most machines
 * ```
 */
export function doctorVerdicts(p: KernelProfile): LabVerdict[] {
  const out: LabVerdict[] = [];
  if (!p.scratch.msyncCleans) {
    out.push({
      labs: "05",
      why: `no directory with writeback: ${p.scratch.dir} is on ${p.scratch.fileSystem}, and ` +
        "msync cleans no page there. Put the project on a disk-backed file system (your home " +
        "directory, usually)",
      blocking: true,
    });
    out.push({
      labs: "10",
      why: "its dirty-page check is left out, for the same reason",
      blocking: false,
    });
  }
  if (p.execAnonymous === false) {
    out.push({
      labs: "11",
      why: "this system refuses executable anonymous memory: the checks that run your code " +
        "are skipped with a note (the rest of the lab still counts)",
      blocking: false,
    });
  }
  return out;
}

function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(indent + line);
  return lines.join("\n");
}

/**
 * The doctor's report as text, wrapped at `width` columns.
 *
 * @example
 * ```ts ignore
 * console.log(renderDoctor(kernelProfile("."), { width: 80, cached: true }));
 * ```
 */
export function renderDoctor(
  p: KernelProfile,
  options: { width?: number; source?: string } = {},
): string {
  const width = Math.max(40, options.width ?? 80);
  const out = [
    paint("bold", "mmap-lab doctor: what this machine's kernel does, measured"),
    wrap(
      `measured ${p.measuredAt} in ${p.costMs} ms${options.source ? `; ${options.source}` : ""}`,
      width,
      "",
    ),
    "",
  ];
  for (const f of doctorFacts(p)) {
    const mark = f.textbook ? paint("yellow", "≠") : paint("green", "✓");
    out.push(`${mark} ${paint("bold", f.what)}`);
    out.push(wrap(f.here, width, "    "));
    if (f.textbook) out.push(paint("yellow", wrap(`textbook: ${f.textbook}`, width, "    ")));
    out.push(paint("gray", wrap(f.means, width, "    ")));
  }
  out.push("");
  const verdicts = doctorVerdicts(p);
  if (!verdicts.length) {
    out.push(paint("green", "Every lab can run here."));
  } else {
    for (const v of verdicts) {
      const head = v.blocking ? `lab ${v.labs} cannot run here` : `lab ${v.labs}`;
      out.push(paint(v.blocking ? "red" : "yellow", wrap(`${head}: ${v.why}`, width, "")));
    }
  }
  const differs = doctorFacts(p).filter((f) => f.textbook).length;
  if (differs) {
    out.push(
      wrap(
        `≠ marks where this kernel differs from the textbook (${differs} here). The checks ` +
          "expect what this kernel does; the lessons teach both.",
        width,
        "",
      ),
    );
  }
  return out.join("\n");
}
