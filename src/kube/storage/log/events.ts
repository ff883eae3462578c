// Conversions from log rows to the Store's public shapes.
import type { KeyValue, WatchEvent } from '../types.js';
import type { EventRow, Row } from './backend.js';

export function rowToKv(r: Row): KeyValue {
  return { key: r.key, value: r.value, modRevision: r.rev, createRevision: r.createRev };
}

/** A DELETE carries the key's last value with the delete's revision, and the last row as prev. */
export function rowToEvent(r: EventRow): WatchEvent {
  const prev = r.prev ? rowToKv(r.prev) : undefined;
  return r.deleted ? { type: 'DELETE', kv: rowToKv(r), prev } : { type: 'PUT', kv: rowToKv(r), prev };
}
