/**
 * The checker's eyes and hands, in a child of its own, so that the runner
 * needs no FFI (Deno reads nothing under /proc/PID without it) and never maps
 * a path a student's code published. Reads pagemap, smaps, maps and fdinfo of
 * the processes running the student's code, and maps the published shared
 * memory itself, as an independent third process. The harness loads the
 * student's module, but this drive never calls it.
 */
import {
  defineDrive,
  mapFile,
  O,
  pagemap,
  readProcText,
  smaps,
  sys,
} from "../../../lib/checker/mod.ts";
import type { InspectParams, InspectResult, MapsLine, PageLooks } from "./shared.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function look(pid: number, where: { address: string; pages: number }, ps: number): PageLooks {
  const address = BigInt(where.address);
  const length = where.pages * ps;
  const pages = pagemap(address, where.pages, pid).map((p) => ({
    present: p.present,
    exclusive: p.exclusive,
    fileOrShared: p.fileOrShared,
  }));
  const entries = smaps(pid, { address, length });
  // smaps counts per area, and adjacent private anonymous mappings merge into one area: then
  // count this mapping's own pages from pagemap instead.
  const exact = entries.length === 1 && entries[0].start === address &&
    entries[0].end === address + BigInt(length);
  const counted = pages.filter((p) => p.present && (p.exclusive || p.fileOrShared)).length * ps;
  return {
    pages,
    rss: exact ? entries[0].rss : counted,
    rssFrom: exact ? "smaps" : "pagemap",
  };
}

function mapsLines(pid: number): MapsLine[] {
  const out: MapsLine[] = [];
  for (const line of readProcText(`/proc/${pid}/maps`).split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) [0-9a-f]+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (m) {
      out.push({
        start: "0x" + m[1],
        end: "0x" + m[2],
        perms: m[3],
        inode: Number(m[4]),
        path: m[5],
      });
    }
  }
  return out;
}

/** The descriptors of `pid` open on inode `inode`, from /proc/PID/fdinfo. */
function descriptorsOn(pid: number, inode: number): number[] {
  const out: number[] = [];
  for (let fd = 0; fd < 1024; fd++) {
    let info: string;
    try {
      info = readProcText(`/proc/${pid}/fdinfo/${fd}`);
    } catch {
      continue;
    }
    const m = /^ino:\s+(\d+)$/m.exec(info);
    if (m && Number(m[1]) === inode) out.push(fd);
  }
  return out;
}

function exists(path: string): boolean {
  try {
    sys.close(sys.open(path, O.RDONLY | O.CLOEXEC));
    return true;
  } catch {
    return false;
  }
}

export default defineDrive<InspectParams>((ctx) => {
  const p = ctx.params;
  const ps = sys.pageSize();
  const out: InspectResult = { pageSize: ps };
  if (p.look) out.look = look(p.look.pid, p.look, ps);
  if (p.area) {
    const address = BigInt(p.area.address);
    const lines = mapsLines(p.area.pid);
    const line = lines.find((l) => BigInt(l.start) <= address && address < BigInt(l.end));
    out.line = line;
    if (line) out.fds = descriptorsOn(p.area.pid, line.inode);
  }
  if (p.inode) {
    out.mapped = mapsLines(p.inode.pid).filter((l) => l.inode === p.inode!.inode);
    out.fds = descriptorsOn(p.inode.pid, p.inode.inode);
  }
  if (p.exists) out.exists = exists(p.exists);
  if (p.map) {
    try {
      using memory = mapFile(p.map.path, { access: "readwrite" });
      const { read, write } = p.map;
      out.saw = decoder.decode(memory.bytes.subarray(read.offset, read.offset + read.length));
      memory.bytes.set(encoder.encode(write.text), write.offset);
    } catch (err) {
      out.mapError = err instanceof Error ? err.message : String(err);
    }
  }
  return out;
});
