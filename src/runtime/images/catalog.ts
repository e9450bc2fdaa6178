import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig, ImageInfo } from '../interface.js';
import type { Descriptor } from './media.js';
import { Mutex, withLockFile, writeFileAtomic, processAlive, tempName } from './fsutil.js';

// The image index (index.json): names → images, each image pointing at its manifest, config and layer blobs.
// Another process may change it at any time, so every operation re-reads it, and every change is a
// read-modify-write under the store lock, written with temp + rename.

export interface LayerRecord {
  diffId: string;
  blob: Descriptor;
  unpackedSize: number;
}

export interface ImageRecord {
  /** The config digest. */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  manifest: Descriptor;
  config: Descriptor;
  layers: LayerRecord[];
  imageConfig: ImageConfig;
  /** ms since epoch; for LRU image GC. */
  lastUsed: number;
  created: number;
}

export interface CatalogData {
  version: 1;
  images: Record<string, ImageRecord>;
}

export class Catalog {
  private mutex = new Mutex();
  constructor(private readonly dir: string) {}

  private get file(): string {
    return join(this.dir, 'index.json');
  }

  async read(): Promise<CatalogData> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, images: {} };
      throw e;
    }
    const data = JSON.parse(text) as CatalogData;
    if (data.version !== 1 || typeof data.images !== 'object') throw new Error(`${this.file}: unknown index format; was it written by a newer kite?`);
    return data;
  }

  /** Exclusive access to the store (index and deletions), across processes. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(() => withLockFile(join(this.dir, 'lock'), fn));
  }

  /** Writes the index; call under the lock. */
  save(data: CatalogData): Promise<void> {
    return writeFileAtomic(this.file, JSON.stringify(data, null, 1));
  }

  /** Changes the index under the lock; fn edits the data in place and returns a result. */
  update<T>(fn: (data: CatalogData) => T | Promise<T>): Promise<T> {
    return this.locked(async () => {
      const data = await this.read();
      const result = await fn(data);
      await this.save(data);
      return result;
    });
  }

  // Leases protect content a pull is still fetching (not yet in the index) from a concurrent prune.

  async addLease(digests: string[]): Promise<() => Promise<void>> {
    const file = tempName(join(this.dir, 'leases'), 'lease.json');
    await this.locked(() => writeFileAtomic(file, JSON.stringify(digests)));
    return () => rm(file, { force: true });
  }

  /** mtime (ms) of the oldest live lease: content written since then may belong to an image not yet indexed. */
  async oldestLease(): Promise<number | undefined> {
    const dir = join(this.dir, 'leases');
    let oldest: number | undefined;
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('lease.json')) continue;
      const m = await stat(join(dir, name)).then((s) => s.mtimeMs, () => undefined);
      if (m !== undefined && (oldest === undefined || m < oldest)) oldest = m;
    }
    return oldest;
  }

  /** Digests held by leases of live processes; call under the lock. */
  async leasedDigests(): Promise<Set<string>> {
    const dir = join(this.dir, 'leases');
    const out = new Set<string>();
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith('lease.json')) continue;
      const pid = Number(name.split('-')[0]);
      if (!processAlive(pid)) {
        await rm(join(dir, name), { force: true });
        continue;
      }
      const list = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '[]')) as string[];
      for (const d of list) out.add(d);
    }
    return out;
  }
}

export function toImageInfo(r: ImageRecord): ImageInfo {
  return {
    id: r.id,
    repoTags: [...r.repoTags],
    repoDigests: [...r.repoDigests],
    size: r.layers.reduce((n, l) => n + l.blob.size, 0),
    config: structuredClone(r.imageConfig),
    layers: r.layers.map((l) => l.diffId),
  };
}
