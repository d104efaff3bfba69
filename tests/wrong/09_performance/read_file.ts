// A plausible mistake: read() instead of mapping. The whole file is read into
// each process's own memory; lookups are right, but nothing is mapped.
// expect-fail: through-mapping /read\(\) instead of mapping/
export const RECORD_SIZE = 32;
export const KEY_SIZE = 8;
export const VALUE_SIZE = 24;
export const PREDICTED_PAGES_PER_LOOKUP: number | undefined = 12;

const decoder = new TextDecoder();

export class Table {
  readonly count: number;
  #bytes: Uint8Array | undefined;
  #view: DataView | undefined;

  constructor(path: string) {
    this.#bytes = Deno.readFileSync(path);
    this.count = Math.floor(this.#bytes.length / RECORD_SIZE);
    this.#view = new DataView(this.#bytes.buffer);
  }

  lookup(key: bigint): string | undefined {
    if (this.#view === undefined) return undefined;
    let lo = 0;
    let hi = this.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const found = this.#view.getBigUint64(mid * RECORD_SIZE, true);
      if (found === key) {
        const start = mid * RECORD_SIZE + KEY_SIZE;
        return decoder.decode(this.#bytes!.subarray(start, start + VALUE_SIZE));
      }
      if (found < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  close(): void {
    this.#bytes = undefined;
    this.#view = undefined;
  }
}

export function openTable(path: string): Table {
  return new Table(path);
}
