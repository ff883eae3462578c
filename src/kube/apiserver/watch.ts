// WATCH: newline-terminated JSON events (ADDED/MODIFIED/DELETED/BOOKMARK/ERROR) streamed from the
// store's watch. resourceVersion unset or "0" starts with the current state as ADDED events;
// selectors apply to events, an object leaving the selector is reported DELETED and one entering
// it ADDED; a compacted start revision becomes an ERROR event carrying a 410 Expired Status.
import type { ServerResponse } from 'node:http';
import { queryBool, queryInt } from './query.js';
import { isSkiffError } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import type { KeyValue, WatchEvent } from '../storage/index.js';
import type { RequestScope } from './context.js';
import { buildPredicate } from './filter.js';
import { wantsPartialMetadata, wantsTable } from './http.js';
import { gvString } from './registry.js';
import { errBadRequest, errBadResourceVersion, statusOf, toStatus } from './status.js';
import { parseIncludeObject, partialShapeError, toPartialMetadata, toTable } from './table.js';

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export async function handleWatch(r: RequestScope): Promise<void> {
  const pred = buildPredicate(r.def, r.query, r.info.name);
  const rvRaw = r.query.get('resourceVersion') ?? '';
  if (rvRaw && !/^\d+$/.test(rvRaw)) throw errBadResourceVersion(rvRaw);
  const bookmarks = queryBool(r.query, 'allowWatchBookmarks') === true;
  const sendInitial = queryBool(r.query, 'sendInitialEvents');
  if (sendInitial === true && r.query.get('resourceVersionMatch') !== 'NotOlderThan') {
    throw errBadRequest(
      'resourceVersionMatch: Invalid value: "": sendInitialEvents requires setting resourceVersionMatch to NotOlderThan',
    );
  }
  const initialEvents = sendInitial === true || (sendInitial === undefined && (rvRaw === '' || rvRaw === '0'));
  const timeout = queryInt(r.query, 'timeoutSeconds') ?? 0;
  const tableVersion = wantsTable(r.req);
  // client-go's metadata informers watch `as=PartialObjectMetadata`: every event's object (bookmarks
  // included) reduced to its metadata.
  const partial = wantsPartialMetadata(r.req);
  if (partial?.list) throw partialShapeError(r.def, 'object');
  const include = parseIncludeObject(r.query.get('includeObject'));
  const gv = gvString(r.def.group, r.def.version);
  const prefix = r.ctx.registry.prefix(r.def, r.info.namespace);
  const res = r.res;

  const ac = new AbortController();
  const close = () => ac.abort();
  r.req.on('close', close);
  res.on('close', close);
  let timer: NodeJS.Timeout | undefined;
  if (timeout > 0) timer = setTimeout(close, timeout * 1000);

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const out = new LineBatch(res);
  const send = (type: EventType, object: unknown) => {
    if (ac.signal.aborted) return;
    if (tableVersion && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      out.write(
        JSON.stringify({
          type,
          object: toTable(r.def, [object as KubeObject], { include, version: tableVersion, noHeaders: false }),
        }) + '\n',
      );
      return;
    }
    if (partial && type !== 'ERROR') {
      out.write(eventLine(type, toPartialMetadata(object as KubeObject, partial.version)));
      return;
    }
    out.write(eventLine(type, object));
  };
  // An event of a stored object: its line from the stored JSON text when it is in canonical form
  // (no parse, no serialisation), else from the decoded object.
  const sendStored: SendStored = async (type, kv, obj) => {
    if (ac.signal.aborted) return;
    const line = tableVersion || partial ? undefined : storedLine(r, type, kv);
    if (line !== undefined) out.write(line);
    else send(type, await obj());
  };
  const bookmark = (rev: number, initialEnd = false) => {
    const metadata: Record<string, unknown> = { resourceVersion: String(rev) };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    send('BOOKMARK', { kind: r.def.kind, apiVersion: gv, metadata });
  };

  let from = rvRaw === '' || rvRaw === '0' ? 0 : Number(rvRaw);
  try {
    if (initialEvents) {
      let cont: string | undefined;
      let rev = 0;
      do {
        const page = await r.ctx.store.list(prefix, { limit: 500, continue: cont, revision: rev || undefined });
        rev = page.revision;
        for (const kv of page.items) {
          const o = await r.ctx.registry.decode(r.def, kv);
          if (!pred || pred(o)) send('ADDED', o);
        }
        cont = page.continue;
      } while (cont && !ac.signal.aborted);
      from = rev;
      if (sendInitial === true && bookmarks) bookmark(rev, true);
    } else if (from === 0) {
      from = await r.ctx.store.currentRevision();
    }
    const w = r.ctx.store.watch(prefix, from, { signal: ac.signal, progressNotify: bookmarks });
    ac.signal.addEventListener('abort', () => w.close(), { once: true });
    for await (const ev of w) {
      if (ac.signal.aborted) break;
      await deliver(r, ev, pred, sendStored, bookmark, bookmarks);
    }
  } catch (e) {
    if (!ac.signal.aborted) {
      const st =
        isSkiffError(e) && e.reason === 'Compacted'
          ? statusOf(410, 'Expired', `too old resource version: ${from} (${e.message})`)
          : toStatus(e, r.target);
      send('ERROR', st);
    }
  } finally {
    if (timer) clearTimeout(timer);
    r.req.off('close', close);
    out.flush();
    res.end();
  }
}

/** A watch's event lines, written once per turn of the event loop (setImmediate): the events of
 *  every write the loop handled in that turn go out in one chunk and one socket write, where each
 *  res.write() was a chunk and, once per tick, a write(2) of its own (a pod's create and binding reach
 *  every pod watcher; the writes were ~17 % of the API thread's samples in the scheduler benchmark).
 *  A batch above 256 KB is written at once (an initial list), so nothing large accumulates. */
class LineBatch {
  private lines: Buffer[] = [];
  private bytes = 0;
  private scheduled = false;
  constructor(private readonly res: ServerResponse) {}
  write(line: Buffer | string): void {
    const b = typeof line === 'string' ? Buffer.from(line) : line;
    this.lines.push(b);
    this.bytes += b.length;
    if (this.bytes > 256 * 1024) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }
  flush(): void {
    if (!this.lines.length) return;
    const chunk = this.lines.length === 1 ? this.lines[0] : Buffer.concat(this.lines, this.bytes);
    this.lines = [];
    this.bytes = 0;
    if (!this.res.writableEnded && !this.res.destroyed) this.res.write(chunk);
  }
}

type SendStored = (type: EventType, kv: KeyValue, obj: () => Promise<KubeObject>) => Promise<void>;

async function deliver(
  r: RequestScope,
  ev: WatchEvent,
  pred: ((o: KubeObject) => boolean) | undefined,
  send: SendStored,
  bookmark: (rev: number) => void,
  bookmarks: boolean,
): Promise<void> {
  if (ev.type === 'PROGRESS') {
    if (bookmarks) bookmark(ev.revision);
    return;
  }
  const decode = (kv: KeyValue) => r.ctx.registry.decodeShared(r.def, kv);
  if (ev.type === 'DELETE') {
    if (!ev.prev) return;
    const obj = async () => {
      const shared = await decode(ev.prev!);
      return { ...shared, metadata: { ...shared.metadata, resourceVersion: String(ev.kv.modRevision) } };
    };
    if (!pred || pred(await obj())) await send('DELETED', deletedKv(ev, ev.prev, ev.kv.modRevision), obj);
    return;
  }
  const cur = () => decode(ev.kv);
  const created = ev.kv.createRevision === ev.kv.modRevision;
  if (!pred) {
    await send(created ? 'ADDED' : 'MODIFIED', ev.kv, cur);
    return;
  }
  const now = pred(await cur());
  const before = !created && ev.prev ? pred(await decode(ev.prev)) : false;
  if (now && before) await send('MODIFIED', ev.kv, cur);
  else if (now) await send('ADDED', ev.kv, cur);
  else if (before) await send('DELETED', ev.kv, cur);
}

/** A deletion's last state at the deletion's revision: one KeyValue per event, shared by its
 *  watchers, so its line is built once. */
const deletedKvs = new WeakMap<WatchEvent, KeyValue>();
function deletedKv(ev: WatchEvent, prev: KeyValue, modRevision: number): KeyValue {
  let kv = deletedKvs.get(ev);
  if (!kv) deletedKvs.set(ev, (kv = { ...prev, modRevision }));
  return kv;
}

/** The JSON line of a stored object's event from its stored bytes, once per event and type however
 *  many watchers send it (the store shares one KeyValue per event among them); undefined when the
 *  bytes are not canonical (a converted or transformed kind). */
const storedLines = new WeakMap<KeyValue, Map<string, Buffer | undefined>>();
const LINE_END = Buffer.from('}\n');
const lineStarts = new Map<string, Buffer>();
function storedLine(r: RequestScope, type: EventType, kv: KeyValue): Buffer | undefined {
  let m = storedLines.get(kv);
  if (!m) storedLines.set(kv, (m = new Map()));
  // (watchers of one group/plural may ask for different versions of it)
  const k = `${r.def.version} ${type}`;
  if (m.has(k)) return m.get(k);
  let start = lineStarts.get(type);
  if (!start) lineStarts.set(type, (start = Buffer.from(`{"type":"${type}","object":`)));
  const line = r.ctx.registry.rawBytes(r.def, kv, start, LINE_END);
  m.set(k, line);
  return line;
}

/** The JSON line of an event, serialised once however many watchers send it (objects are shared). */
const lines = new WeakMap<object, Map<EventType, string>>();
function eventLine(type: EventType, object: unknown): string {
  if (typeof object !== 'object' || object === null) return JSON.stringify({ type, object }) + '\n';
  let m = lines.get(object);
  if (!m) {
    m = new Map();
    lines.set(object, m);
  }
  let l = m.get(type);
  if (l === undefined) {
    l = JSON.stringify({ type, object }) + '\n';
    m.set(type, l);
  }
  return l;
}
