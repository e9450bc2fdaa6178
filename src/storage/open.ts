// Picks the backend from the server's flags, k3s-style: no datastore endpoint means the embedded SQLite file
// under the data dir; http(s):// endpoints mean an external etcd.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from './interface.js';
import type { EtcdStoreOptions } from './etcd/store.js';
import type { SqliteStoreOptions } from './sqlite/store.js';

export interface OpenStoreOptions {
  dataDir: string;
  /** Comma-separated etcd client URLs (http://host:2379,http://...); empty or absent = embedded SQLite. */
  datastoreEndpoint?: string;
  sqlite?: SqliteStoreOptions;
  etcd?: EtcdStoreOptions;
}

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const endpoint = opts.datastoreEndpoint?.trim() ?? '';
  if (endpoint === '') {
    const dir = join(opts.dataDir, 'db');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Backends load on demand: the etcd client (gRPC) costs memory and start-up time SQLite users never need.
    const { openSqliteStore } = await import('./sqlite/store.js');
    const file = join(dir, 'state.db');
    try {
      return openSqliteStore(file, opts.sqlite);
    } catch (e) {
      if (/locked|busy/i.test((e as Error).message)) {
        throw new Error(`${file} is in use by another kite server: stop that one, or give this one its own --data-dir`);
      }
      throw e;
    }
  }
  const endpoints = endpoint
    .split(',')
    .map((e) => e.trim().replace(/\/$/, ''))
    .filter((e) => e !== '');
  for (const e of endpoints) {
    if (!/^https?:\/\/[^/]+$/.test(e)) {
      throw new Error(`datastore endpoint ${JSON.stringify(e)}: want http://host:port (etcd), comma-separated`);
    }
  }
  const { openEtcdStore } = await import('./etcd/store.js');
  return openEtcdStore(endpoints, opts.etcd);
}
