// The on-disk layout, after kine: an append-only log of every write (one row per revision) is the source of
// truth; `current` is an index of live keys pointing at their latest log row, so latest reads and counts
// never have to scan history. `meta` persists the revision counter (the newest log row may be compacted
// away) and the compacted revision.

import type Database from 'better-sqlite3';

export const SCHEMA_VERSION = 1;

export function migrate(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS kv (
      revision        INTEGER PRIMARY KEY,
      key             TEXT    NOT NULL,
      value           TEXT    NOT NULL,
      create_revision INTEGER NOT NULL,
      prev_revision   INTEGER NOT NULL,
      deleted         INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS kv_key_revision ON kv (key, revision);
    CREATE TABLE IF NOT EXISTS current (
      key      TEXT    PRIMARY KEY,
      revision INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meta (
      name  TEXT    PRIMARY KEY,
      value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT OR IGNORE INTO meta (name, value) VALUES ('schema', ${SCHEMA_VERSION}), ('revision', 0), ('compacted', 0);
  `);
  const row = db.prepare(`SELECT value FROM meta WHERE name = 'schema'`).get() as { value: number };
  if (row.value !== SCHEMA_VERSION) {
    throw new Error(`sqlite store: schema version ${row.value} is not supported (want ${SCHEMA_VERSION})`);
  }
}

/** The smallest string greater than every string that starts with `prefix` (by code point, which is also
 *  UTF-8 byte order and so SQLite's BINARY collation). The empty prefix has no bound: use MAX_KEY. */
export function prefixEnd(prefix: string): string {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) as number);
  while (cps.length > 0) {
    const last = cps.pop() as number;
    let next = last + 1;
    if (next >= 0xd800 && next <= 0xdfff) next = 0xe000;
    if (next <= 0x10ffff) return String.fromCodePoint(...cps, next);
  }
  return MAX_KEY;
}

/** Sorts after any key the API server writes; stands in for "no upper bound". */
export const MAX_KEY = String.fromCodePoint(0x10ffff).repeat(8);
