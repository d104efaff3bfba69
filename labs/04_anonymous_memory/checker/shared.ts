/** Shared by lab 04's checker and drives: what the checker asks for. */

/** Parameters of the private-memory drive (`private.ts`). */
export interface PrivateParams {
  /** Bytes to allocate. */
  size: number;
  /** One byte written per page: page, offset in the page, value (1–255). */
  writes: { page: number; offset: number; value: number }[];
  /** The pages to release. */
  release: { first: number; count: number };
}

/** Parameters of the creator of the shared memory (`owner.ts`). */
export interface OwnerParams {
  /** Bytes of shared memory. */
  size: number;
  /** What the creator writes, and where. */
  hello: { offset: number; text: string };
  /** Where the others will write (the creator reads these back). */
  replies: { offset: number; length: number }[];
}

/** Parameters of the process that attaches (`attach.ts`). */
export interface AttachParams {
  /** The path the creator published. */
  path: string;
  /** Where to read the creator's text. */
  hello: { offset: number; length: number };
  /** What to write, and where. */
  reply: { offset: number; text: string };
}

/** The names of the prediction constants the student exports. */
export const PREDICTIONS = [
  "PREDICTED_FAULTS_WHEN_READING",
  "PREDICTED_SHARED_AFTER_RELEASE",
] as const;

/** `true` if the value looks like a Mapping from lib/ (what the student's functions must return). */
export function isMapping(value: unknown): boolean {
  const m = value as { bytes?: unknown; address?: unknown } | null;
  return m !== null && typeof m === "object" && typeof m.address === "bigint" &&
    m.bytes instanceof Uint8Array;
}

/** One page as /proc/PID/pagemap shows it. */
export interface PageLook {
  present: boolean;
  exclusive: boolean;
  fileOrShared: boolean;
}

/** The kernel's view of a mapping at one checkpoint. */
export interface Look {
  pages: PageLook[];
  /** Resident bytes of this mapping. */
  rss: number;
  /** Where `rss` came from: smaps, or counted from pagemap when the area is merged with others. */
  rssFrom: "smaps" | "pagemap";
  /** The main thread's minor fault count (`/proc/PID/task/PID/stat`), read by the checker itself. */
  minorFaults: number;
}

/** What the inspector child sees of a mapping (the checker adds the fault count). */
export type PageLooks = Omit<Look, "minorFaults">;

/** One line of /proc/PID/maps, with the inode. */
export interface MapsLine {
  start: string;
  end: string;
  perms: string;
  inode: number;
  path: string;
}

/** What the checker asks its inspector child (`inspect.ts`); every part optional. */
export interface InspectParams {
  /** pagemap and Rss of a mapping. */
  look?: { pid: number; address: string; pages: number };
  /** The maps line holding `address`, and the descriptors on its inode. */
  area?: { pid: number; address: string };
  /** Maps lines and descriptors of `pid` on `inode`. */
  inode?: { pid: number; inode: number };
  /** Whether a path can be opened. */
  exists?: string;
  /** Map `path` shared and read-write, read some bytes, write a text. */
  map?: {
    path: string;
    read: { offset: number; length: number };
    write: { offset: number; text: string };
  };
}

/** What the inspector child answers. */
export interface InspectResult {
  pageSize: number;
  look?: PageLooks;
  line?: MapsLine;
  fds?: number[];
  mapped?: MapsLine[];
  exists?: boolean;
  saw?: string;
  mapError?: string;
}
