// The SQLite schema (kine's model, tightened): one table `kv`, one row per event.
//   id       the revision of the event (INTEGER PRIMARY KEY = the rowid; AUTOINCREMENT so a revision is
//            never reused, even after compaction deleted the newest row)
//   key      the key; TEXT compared bytewise (BINARY collation), as etcd orders keys
//   created  the revision that created this generation of the key
//   prev     the previous row of the same generation (0 for a create): the watch's prev value
//   deleted  1 for a tombstone; a tombstone keeps the last value (the DELETE event's object)
//   value    the bytes
// The index (key, id, deleted) answers "latest row of a key at or before revision R" with one
// seek, serves range scans in key order for lists, and makes counts index-only. `meta` holds the schema version and compact revision.
// A watch replay scans by revision (the rowid), filtering keys (`+k.key` keeps SQLite off the key
// index there: replays start from a recent revision, so the rowid range is the short one).
export const SCHEMA_VERSION = 1;

export const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  created INTEGER NOT NULL,
  prev INTEGER NOT NULL,
  deleted INTEGER NOT NULL CHECK (deleted IN (0, 1)),
  value BLOB NOT NULL
);
DROP INDEX IF EXISTS kv_key_id;
CREATE INDEX IF NOT EXISTS kv_key_id_deleted ON kv (key, id, deleted);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

const COLS = 'k.id AS rev, k.key, k.created AS createRev, k.prev AS prevRev, k.deleted, k.value';

/** The key's row at revision :rev, live only (correlated MAX over the (key, id) index). */
const AT_REV = `k.key >= :start AND k.key < :end
  AND k.id = (SELECT MAX(h.id) FROM kv h WHERE h.key = k.key AND h.id <= :rev) AND k.deleted = 0`;

export const SQL = {
  latest: `SELECT ${COLS} FROM kv k WHERE k.key = ? ORDER BY k.id DESC LIMIT 1`,
  listAt: `SELECT ${COLS} FROM kv k WHERE ${AT_REV} ORDER BY k.key LIMIT :limit`,
  countAt: `SELECT COUNT(*) AS n FROM kv k WHERE ${AT_REV}`,
  eventsAfter: `SELECT ${COLS}, p.id AS pRev, p.created AS pCreateRev, p.value AS pValue
    FROM kv k LEFT JOIN kv p ON p.id = k.prev
    WHERE k.id > :after AND +k.key >= :start AND +k.key < :end ORDER BY k.id LIMIT :limit`,
  insert: `INSERT INTO kv (id, key, created, prev, deleted, value) VALUES (?, ?, ?, ?, ?, ?)`,
  maxRev: `SELECT MAX(x) AS n FROM (SELECT MAX(id) AS x FROM kv UNION ALL SELECT seq FROM sqlite_sequence WHERE name = 'kv')`,
  getMeta: `SELECT value FROM meta WHERE name = ?`,
  setMeta: `INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
  // Compaction of the revisions (lo, hi]: each row there supersedes its prev (same generation),
  // and each tombstone there supersedes itself. Rows at or before lo were handled by earlier steps.
  compactPrev: `DELETE FROM kv WHERE id IN (SELECT prev FROM kv WHERE id > ? AND id <= ? AND prev > 0)`,
  compactTombstones: `DELETE FROM kv WHERE id > ? AND id <= ? AND deleted = 1`,
} as const;
