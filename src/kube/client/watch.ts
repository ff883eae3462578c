// Watch streams: newline-delimited JSON events. A 410 ERROR event (or answer) surfaces as a
// FailedPrecondition with reason `Expired`, so informers know to relist.
import { SkiffError } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import type { KubeClient, RequestOptions } from './rest.js';

export interface WatchEvent<T = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

export const isExpired = (e: unknown): boolean =>
  e instanceof SkiffError && (e.reason === 'Expired' || e.reason === 'Gone');

const NL = 0x0a;

/** True when bytes [from, to) hold only JSON whitespace (a blank or keep-alive line). */
function blank(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0d && c !== 0x09) return false;
  }
  return true;
}

/** One event line, parsed once; an ERROR event becomes the error it reports. */
function parseEvent(b: Buffer, from: number, to: number): WatchEvent<any> {
  const ev = JSON.parse(b.toString('utf8', from, to)) as { type: string; object: any };
  if (ev.type === 'ERROR') {
    const st = ev.object ?? {};
    throw new SkiffError(st.code === 410 ? 'FailedPrecondition' : 'Internal', st.message ?? 'watch error', {
      reason: st.code === 410 ? 'Expired' : st.reason,
    });
  }
  return ev as WatchEvent<any>;
}

/**
 * Splits a byte stream into event lines on the bytes themselves: no growing string, each line
 * decoded and parsed once (a UTF-8 character cut by a chunk boundary is whole again, since only
 * bytes are carried over). The bytes of a line not yet ended are kept as they came and joined
 * once, when its newline arrives.
 */
export class EventLines {
  /** Bytes of a line not ended yet, as they came. */
  private tail: Buffer[] = [];
  /** The chunk being read, and where its next line starts. */
  private buf: Buffer | undefined;
  private from = 0;

  /** Takes the next chunk; its events come from next(). The previous chunk must be read out. */
  push(chunk: Buffer): void {
    if (!this.tail.length) {
      this.buf = chunk;
      this.from = 0;
      return;
    }
    if (chunk.indexOf(NL) < 0) {
      this.tail.push(chunk);
      return;
    }
    // the line that began in earlier chunks ends in this one: its bytes are joined once
    this.tail.push(chunk);
    this.buf = Buffer.concat(this.tail);
    this.tail = [];
    this.from = 0;
  }

  /** The next whole event of the chunks pushed so far, or undefined until more bytes come. */
  next(): WatchEvent<any> | undefined {
    const buf = this.buf;
    if (!buf) return undefined;
    for (;;) {
      const from = this.from;
      const nl = buf.indexOf(NL, from);
      if (nl < 0) {
        if (from < buf.length) this.tail.push(from ? buf.subarray(from) : buf);
        this.buf = undefined;
        return undefined;
      }
      this.from = nl + 1;
      if (!blank(buf, from, nl)) return parseEvent(buf, from, nl);
    }
  }
}

export async function* watchEvents<T = KubeObject>(
  client: KubeClient,
  path: string,
  query: RequestOptions['query'],
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  const res = await client.stream(path, { query: { ...query, watch: 1 }, signal });
  const lines = new EventLines();
  try {
    for await (const chunk of res) {
      lines.push(chunk as Buffer);
      for (let ev = lines.next(); ev; ev = lines.next()) yield ev as WatchEvent<T>;
    }
  } finally {
    res.destroy();
  }
}
