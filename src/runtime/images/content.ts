import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat, readFile, readdir } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DIGEST } from './reference.js';
import { tempName, pidOfTempName, processAlive, Singleflight, writeFileAtomic } from './fsutil.js';
import { unpackLayer } from './unpack.js';

// Content-addressed storage under the store dir:
//   blobs/sha256/<hex>   manifests, configs and layer blobs exactly as a registry serves them
//   layers/<hex>/        a layer unpacked, named by its diff ID (shared by every image that has the layer)
//   layers/<hex>.size    its unpacked size in bytes
//   tmp/                 downloads and extractions in progress, renamed into place when complete and verified

export class DigestMismatchError extends Error {}

function hexOf(digest: string): string {
  if (!DIGEST.test(digest)) throw new Error(`unsupported digest "${digest}" (kite handles sha256 only)`);
  return digest.slice('sha256:'.length);
}

export class ContentStore {
  private blobFlight = new Singleflight<{ digest: string; size: number }>();
  private layerFlight = new Singleflight<number>();

  constructor(readonly dir: string) {}

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(join(this.dir, 'layers'), { recursive: true });
    await mkdir(join(this.dir, 'tmp'), { recursive: true });
  }

  blobPath(digest: string): string {
    return join(this.dir, 'blobs', 'sha256', hexOf(digest));
  }

  layerPath(diffId: string): string {
    return join(this.dir, 'layers', hexOf(diffId));
  }

  tmpPath(hint: string): string {
    return tempName(join(this.dir, 'tmp'), hint);
  }

  async hasBlob(digest: string): Promise<boolean> {
    return stat(this.blobPath(digest)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  async hasLayer(diffId: string): Promise<boolean> {
    return stat(this.layerPath(diffId)).then(
      (s) => s.isDirectory(),
      () => false,
    );
  }

  readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  openBlob(digest: string): Readable {
    return createReadStream(this.blobPath(digest));
  }

  async blobSize(digest: string): Promise<number> {
    return (await stat(this.blobPath(digest))).size;
  }

  async layerSize(diffId: string): Promise<number> {
    return Number(await readFile(`${this.layerPath(diffId)}.size`, 'utf8').catch(() => '0')) || 0;
  }

  /**
   * Streams content into the store, hashing as it goes. With an expected digest the content is verified before
   * it becomes visible; `what` names the content in the error ("layer sha256:… of 127.0.0.1:5000/x").
   */
  async ingest(source: Readable, opts: { expected?: string; what: string; onBytes?: (n: number) => void }): Promise<{ digest: string; size: number }> {
    const tmp = this.tmpPath('blob');
    const hash = createHash('sha256');
    let size = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        opts.onBytes?.(chunk.length);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, counter, createWriteStream(tmp));
      const digest = `sha256:${hash.digest('hex')}`;
      if (opts.expected && digest !== opts.expected) {
        throw new DigestMismatchError(`${opts.what}: content has digest ${digest}, expected ${opts.expected}; the source served corrupted or tampered data (re-push the image, or check the mirror)`);
      }
      await rename(tmp, this.blobPath(digest));
      return { digest, size };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async writeBlob(data: Buffer): Promise<{ digest: string; size: number }> {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    if (!(await this.hasBlob(digest))) await writeFileAtomic(this.blobPath(digest), data);
    return { digest, size: data.length };
  }

  /** Fetches a blob once per process even when several pulls need it at the same time. */
  ensureBlob(digest: string, fetch: () => Promise<{ digest: string; size: number }>): Promise<{ digest: string; size: number }> {
    return this.blobFlight.do(digest, async () => {
      if (await this.hasBlob(digest)) return { digest, size: await this.blobSize(digest) };
      return fetch();
    });
  }

  /** Unpacks a layer blob into layers/<diffId> unless it is there already; returns the unpacked size. */
  ensureLayer(diffId: string, blobDigest: string, what: string): Promise<number> {
    return this.layerFlight.do(diffId, async () => {
      const target = this.layerPath(diffId);
      if (await this.hasLayer(diffId)) return this.layerSize(diffId);
      const tmp = this.tmpPath('layer');
      await mkdir(tmp, { mode: 0o755 });
      try {
        const { diffId: actual, size } = await unpackLayer(this.blobPath(blobDigest), tmp);
        if (actual !== diffId) {
          throw new DigestMismatchError(`${what}: uncompressed content has digest ${actual}, but the image config says ${diffId} (rootfs.diff_ids); the image is corrupt, rebuild or re-push it`);
        }
        await writeFileAtomic(`${target}.size`, String(size));
        try {
          await rename(tmp, target);
        } catch (e) {
          // Another process unpacked the same layer meanwhile: theirs is as good as ours.
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        }
        return size;
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }

  async removeBlob(digest: string): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
  }

  async removeLayer(diffId: string): Promise<void> {
    // Rename first so a half-deleted tree is never mistaken for a complete layer.
    const doomed = this.tmpPath('rm-layer');
    try {
      await rename(this.layerPath(diffId), doomed);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    await rm(doomed, { recursive: true, force: true });
    await rm(`${this.layerPath(diffId)}.size`, { force: true });
  }

  async listBlobs(): Promise<string[]> {
    return (await readdir(join(this.dir, 'blobs', 'sha256')).catch(() => [] as string[])).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((h) => `sha256:${h}`);
  }

  async listLayers(): Promise<string[]> {
    return (await readdir(join(this.dir, 'layers')).catch(() => [] as string[])).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((h) => `sha256:${h}`);
  }

  /** Removes temp files of processes that died mid-write. */
  async cleanTmp(): Promise<void> {
    const tmp = join(this.dir, 'tmp');
    for (const name of await readdir(tmp).catch(() => [] as string[])) {
      const pid = pidOfTempName(name);
      if (pid !== undefined && pid !== process.pid && !processAlive(pid)) await rm(join(tmp, name), { recursive: true, force: true });
    }
  }
}

