import { mkdir, rm, stat, statfs, readFile } from 'node:fs/promises';
import { PullError, type ImageConfig, type ImageInfo, type ImageService, type PullOptions } from '../interface.js';
import { Catalog, toImageInfo, type CatalogData, type ImageRecord, type LayerRecord } from './catalog.js';
import { ContentStore } from './content.js';
import { parseImageConfig, type ImageConfigJson, type ImageManifest } from './media.js';
import { formatRef, parseImageRef, repoName } from './reference.js';
import { loadRegistriesConfig } from './registries.js';
import { PullFailure, pullImageFromRegistry } from './pull.js';
import { pushImage, type ManifestFormat } from './push.js';
import { readArchiveDir } from './archive.js';
import { buildImage, type BuildOptions } from './build.js';
import { extractFile } from './tar.js';
import { Singleflight } from './fsutil.js';

export type { BuildOptions } from './build.js';

// The node's image store: content-addressed blobs, unpacked layers shared by diff ID, and an index of names.
// Layout under dir: index.json, lock, blobs/sha256/<hex>, layers/<hex>/, tmp/, leases/.

export interface PushOptions extends PullOptions {
  /** Push under another name ("127.0.0.1:5000/team/web:v1"); defaults to the image's own reference. */
  to?: string;
  /** Rewrite the manifest with OCI or Docker v2 schema 2 media types (default: as stored). */
  format?: ManifestFormat;
}

export interface ImageStore extends ImageService {
  importArchive(file: string): Promise<ImageInfo[]>;
  build(opts: BuildOptions): Promise<ImageInfo>;
  push(ref: string, opts?: PushOptions): Promise<void>;
  gc(opts: { highThresholdPercent: number; lowThresholdPercent: number; inUse: Set<string> }): Promise<string[]>;
}

export interface FsStats {
  capacityBytes: number;
  availableBytes: number;
}

export interface ImageStoreOptions {
  dir: string;
  registriesConfigPath?: string;
  log?: (m: string) => void;
  /** Filesystem capacity of dir; tests replace it to drive image GC. */
  statfs?: (dir: string) => Promise<FsStats>;
}

export async function openImageStore(opts: ImageStoreOptions): Promise<ImageStore> {
  const store = new LocalImageStore(opts);
  await store.init();
  return store;
}

function toImageConfig(c: ImageConfigJson): ImageConfig {
  const cc = c.config ?? {};
  return {
    entrypoint: cc.Entrypoint ?? [],
    cmd: cc.Cmd ?? [],
    env: cc.Env ?? [],
    workingDir: cc.WorkingDir ?? '',
    user: cc.User ?? '',
    exposedPorts: Object.keys(cc.ExposedPorts ?? {}),
    labels: { ...(cc.Labels ?? {}) },
  };
}

/** Finds an image by normalised name, name@digest, ID, or an unambiguous ID prefix of 12+ hex digits. */
export function findImage(data: CatalogData, ref: string): { record: ImageRecord; by: 'id' | 'tag' | 'digest' } | undefined {
  const images = Object.values(data.images);
  if (/^sha256:[a-f0-9]{64}$/.test(ref) && data.images[ref]) return { record: data.images[ref], by: 'id' };
  let parsed;
  try {
    parsed = parseImageRef(ref);
  } catch {
    parsed = undefined;
  }
  if (parsed?.digest) {
    const rd = `${repoName(parsed)}@${parsed.digest}`;
    const r = images.find((i) => i.repoDigests.includes(rd));
    if (r) return { record: r, by: 'digest' };
  } else if (parsed) {
    const name = formatRef(parsed);
    const r = images.find((i) => i.repoTags.includes(name));
    if (r) return { record: r, by: 'tag' };
  }
  const prefix = /^(?:sha256:)?([a-f0-9]{12,64})$/.exec(ref)?.[1];
  if (prefix) {
    const matches = images.filter((i) => i.id.slice(7).startsWith(prefix));
    if (matches.length === 1) return { record: matches[0], by: 'id' };
  }
  return undefined;
}

/** Layer directories that are lowers of a mounted overlay (a running container): never delete those. */
async function mountedLowerDirs(): Promise<Set<string>> {
  const out = new Set<string>();
  const mounts = await readFile('/proc/self/mounts', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] !== 'overlay') continue;
    const lower = /(?:^|,)lowerdir=([^,]*)/.exec(f[3] ?? '')?.[1];
    if (!lower) continue;
    for (const d of lower.split(':')) out.add(d.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

class LocalImageStore implements ImageStore {
  private readonly content: ContentStore;
  private readonly catalog: Catalog;
  private readonly pulls = new Singleflight<ImageInfo>();
  private readonly log: (m: string) => void;

  constructor(private readonly opts: ImageStoreOptions) {
    this.content = new ContentStore(opts.dir);
    this.catalog = new Catalog(opts.dir);
    this.log = opts.log ?? (() => undefined);
  }

  async init(): Promise<void> {
    await this.content.init();
    await mkdir(`${this.opts.dir}/leases`, { recursive: true });
    await this.content.cleanTmp();
    await this.catalog.read(); // fail early on an unreadable index
  }

  // ------------------------------------------------------------------------------------------ lookups

  async imageStatus(ref: string): Promise<ImageInfo | undefined> {
    const found = findImage(await this.catalog.read(), ref);
    return found && toImageInfo(found.record);
  }

  async listImages(): Promise<ImageInfo[]> {
    const data = await this.catalog.read();
    return Object.values(data.images)
      .sort((a, b) => a.created - b.created)
      .map(toImageInfo);
  }

  layerDirs(image: ImageInfo): string[] {
    return image.layers.map((d) => this.content.layerPath(d)).reverse();
  }

  async usage(): Promise<{ usedBytes: number; capacityBytes: number; availableBytes: number }> {
    const fs = await this.fsStats();
    const data = await this.catalog.read();
    const blobs = new Map<string, number>();
    const layers = new Map<string, number>();
    for (const r of Object.values(data.images)) {
      blobs.set(r.manifest.digest, r.manifest.size);
      blobs.set(r.config.digest, r.config.size);
      for (const l of r.layers) {
        blobs.set(l.blob.digest, l.blob.size);
        layers.set(l.diffId, l.unpackedSize);
      }
    }
    let used = 0;
    for (const n of [...blobs.values(), ...layers.values()]) used += n;
    return { usedBytes: used, ...fs };
  }

  private async fsStats(): Promise<{ capacityBytes: number; availableBytes: number }> {
    if (this.opts.statfs) return this.opts.statfs(this.opts.dir);
    const s = await statfs(this.opts.dir);
    return { capacityBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  // ------------------------------------------------------------------------------------------ adding images

  /** Unpacks the layers of an image whose blobs are in the store, then records it under its names. */
  private async commit(img: { names: string[]; repoDigests: string[]; manifestBytes?: Buffer; manifest: ImageManifest; layers?: LayerRecord[] }): Promise<ImageInfo> {
    const manifestBytes = img.manifestBytes ?? Buffer.from(JSON.stringify(img.manifest));
    const mdesc = await this.content.writeBlob(manifestBytes);
    const configJson = parseImageConfig(await this.content.readBlob(img.manifest.config.digest));
    const diffIds = configJson.rootfs.diff_ids;
    if (diffIds.length !== img.manifest.layers.length) throw new Error(`image ${img.manifest.config.digest}: ${img.manifest.layers.length} layers but ${diffIds.length} diff IDs in its config`);
    const layers: LayerRecord[] =
      img.layers ??
      (await Promise.all(
        img.manifest.layers.map(async (l, i) => ({
          diffId: diffIds[i],
          blob: { mediaType: l.mediaType, digest: l.digest, size: l.size },
          unpackedSize: await this.content.ensureLayer(diffIds[i], l.digest, `layer ${l.digest}`),
        })),
      ));
    const id = img.manifest.config.digest;
    const now = Date.now();
    return this.catalog.update((data) => {
      for (const other of Object.values(data.images)) {
        if (other.id !== id) other.repoTags = other.repoTags.filter((t) => !img.names.includes(t)); // a tag names one image
      }
      const prev = data.images[id];
      const record: ImageRecord = {
        id,
        repoTags: [...new Set([...(prev?.repoTags ?? []), ...img.names])],
        repoDigests: [...new Set([...(prev?.repoDigests ?? []), ...img.repoDigests])],
        manifest: { mediaType: img.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json', digest: mdesc.digest, size: mdesc.size },
        config: { mediaType: img.manifest.config.mediaType, digest: id, size: img.manifest.config.size },
        layers,
        imageConfig: toImageConfig(configJson),
        lastUsed: now,
        created: prev?.created ?? now,
      };
      data.images[id] = record;
      return toImageInfo(record);
    });
  }

  async pullImage(ref: string, opts: PullOptions = {}): Promise<ImageInfo> {
    let parsed;
    try {
      parsed = parseImageRef(ref);
    } catch (e) {
      throw new PullError(`${(e as Error).message}; fix the image name in the pod spec`, true);
    }
    const name = formatRef(parsed);
    return this.pulls.do(name, async () => {
      const local = findImage(await this.catalog.read(), name)?.record;
      // Pinned by digest, or built/imported here (no registry digest for this repository): nothing to ask a registry.
      if (local && (parsed.digest || !local.repoDigests.some((d) => d.startsWith(`${repoName(parsed)}@`)))) {
        await this.touch(local.id);
        return toImageInfo(local);
      }
      const registries = loadRegistriesConfig(this.opts.registriesConfigPath);
      try {
        const pulled = await pullImageFromRegistry(
          {
            content: this.content,
            registries,
            lease: (d) => this.catalog.addLease(d),
            haveImage: async (configDigest) => {
              const r = (await this.catalog.read()).images[configDigest];
              if (!r) return undefined;
              for (const l of r.layers) if (!(await this.content.hasLayer(l.diffId)) || !(await this.content.hasBlob(l.blob.digest))) return undefined;
              return r.layers;
            },
          },
          parsed,
          opts,
        );
        const manifest: ImageManifest = {
          schemaVersion: 2,
          mediaType: pulled.manifest.mediaType,
          config: pulled.config,
          layers: pulled.layers.map((l) => l.blob),
        };
        const manifestBytes = await this.content.readBlob(pulled.manifest.digest);
        const info = await this.commit({ names: parsed.digest ? [] : [name], repoDigests: [pulled.repoDigest], manifestBytes, manifest, layers: pulled.layers });
        this.log(`pulled ${name} (${info.id})`);
        return info;
      } catch (e) {
        if (e instanceof PullFailure) throw new PullError(e.message, e.notFound, e.unauthorized);
        throw new PullError(`cannot pull ${name}: ${(e as Error).message}`);
      }
    });
  }

  private async touch(id: string): Promise<void> {
    await this.catalog.update((data) => {
      const r = data.images[id];
      if (r) r.lastUsed = Date.now();
    });
  }

  async importArchive(file: string): Promise<ImageInfo[]> {
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new Error(`${file}: no such file; give the path of a docker save or OCI archive (.tar)`);
    const release = await this.catalog.addLease([]);
    const tmp = this.content.tmpPath('import');
    await mkdir(tmp);
    try {
      await extractFile(file, tmp);
      const images = await readArchiveDir(tmp, this.content);
      if (!images.length) throw new Error(`${file} contains no images`);
      const out: ImageInfo[] = [];
      for (const img of images) out.push(await this.commit({ names: img.names, repoDigests: [], manifestBytes: img.manifestBytes, manifest: img.manifest }));
      return out;
    } finally {
      await rm(tmp, { recursive: true, force: true });
      await release();
    }
  }

  async build(opts: BuildOptions): Promise<ImageInfo> {
    const target = parseImageRef(opts.tag);
    if (target.digest) throw new Error(`build needs a name:tag, not a digest (${opts.tag})`);
    let base: ImageRecord | undefined;
    if (opts.from) {
      base = findImage(await this.catalog.read(), opts.from)?.record;
      if (!base) throw new Error(`base image ${opts.from} is not on this node; pull or import it first (kite image ls lists the images)`);
    }
    const release = await this.catalog.addLease(base ? [base.manifest.digest, base.config.digest, ...base.layers.flatMap((l) => [l.blob.digest, l.diffId])] : []);
    try {
      const built = await buildImage(this.content, opts, base);
      return await this.commit({ names: [formatRef(target)], repoDigests: [], ...built });
    } finally {
      await release();
    }
  }

  async push(ref: string, opts: PushOptions = {}): Promise<void> {
    const found = findImage(await this.catalog.read(), ref);
    if (!found) throw new Error(`no image ${ref} on this node; kite image ls lists the images`);
    const target = parseImageRef(opts.to ?? (found.by === 'tag' ? ref : (found.record.repoTags[0] ?? ref)));
    const registries = loadRegistriesConfig(this.opts.registriesConfigPath);
    const pushed = await pushImage(this.content, registries, found.record, target, opts);
    await this.catalog.update((data) => {
      const r = data.images[found.record.id];
      if (r && !r.repoDigests.includes(pushed.repoDigest)) r.repoDigests.push(pushed.repoDigest);
    });
  }

  // ------------------------------------------------------------------------------------------ removal

  async removeImage(ref: string): Promise<void> {
    await this.catalog.locked(async () => {
      const data = await this.catalog.read();
      const found = findImage(data, ref);
      if (!found) throw new Error(`no image ${ref} on this node; kite image ls lists the images`);
      const r = found.record;
      if (found.by === 'tag' && r.repoTags.length > 1) {
        // Like docker rmi of one of several tags: only the name goes.
        const name = formatRef(parseImageRef(ref));
        r.repoTags = r.repoTags.filter((t) => t !== name);
        await this.catalog.save(data);
        return;
      }
      const mounted = await mountedLowerDirs();
      const others = Object.values(data.images).filter((i) => i.id !== r.id);
      const busy = r.layers.find((l) => mounted.has(this.content.layerPath(l.diffId)) && !others.some((o) => o.layers.some((ol) => ol.diffId === l.diffId)));
      if (busy) throw new Error(`image ${ref} is in use by a running container (layer ${busy.diffId} is mounted); stop the pods that use it first`);
      delete data.images[r.id];
      await this.catalog.save(data);
      await this.prune(data);
    });
  }

  /** Deletes blobs and layers no image, lease or mounted container refers to; call under the lock. */
  private async prune(data: CatalogData): Promise<void> {
    const keep = await this.catalog.leasedDigests();
    for (const r of Object.values(data.images)) {
      keep.add(r.manifest.digest);
      keep.add(r.config.digest);
      for (const l of r.layers) {
        keep.add(l.blob.digest);
        keep.add(l.diffId);
      }
    }
    const since = await this.catalog.oldestLease();
    const fresh = async (path: string) => since !== undefined && (await stat(path).then((s) => s.mtimeMs >= since - 1000, () => false));
    for (const d of await this.content.listBlobs()) {
      if (!keep.has(d) && !(await fresh(this.content.blobPath(d)))) await this.content.removeBlob(d);
    }
    const mounted = await mountedLowerDirs();
    for (const d of await this.content.listLayers()) {
      const path = this.content.layerPath(d);
      if (!keep.has(d) && !mounted.has(path) && !(await fresh(path))) await this.content.removeLayer(d);
    }
  }

  async gc(opts: { highThresholdPercent: number; lowThresholdPercent: number; inUse: Set<string> }): Promise<string[]> {
    const fs = await this.fsStats();
    if (fs.capacityBytes <= 0) return [];
    const used = fs.capacityBytes - fs.availableBytes;
    if ((used * 100) / fs.capacityBytes <= opts.highThresholdPercent) return [];
    const toFree = used - (fs.capacityBytes * opts.lowThresholdPercent) / 100;
    return this.catalog.locked(async () => {
      const data = await this.catalog.read();
      const inUse = (r: ImageRecord) => [r.id, ...r.repoTags, ...r.repoDigests].some((n) => opts.inUse.has(n)) || [...opts.inUse].some((n) => findImage({ version: 1, images: { [r.id]: r } }, n));
      const now = Date.now();
      for (const r of Object.values(data.images)) if (inUse(r)) r.lastUsed = now; // in use counts as used now
      const candidates = Object.values(data.images)
        .filter((r) => !inUse(r))
        .sort((a, b) => a.lastUsed - b.lastUsed);
      const removed: string[] = [];
      let freed = 0;
      for (const r of candidates) {
        if (freed >= toFree) break;
        delete data.images[r.id];
        freed += exclusiveBytes(r, Object.values(data.images));
        removed.push(...(r.repoTags.length ? r.repoTags : [r.id]));
        this.log(`image GC: removing ${r.repoTags[0] ?? r.id} (last used ${new Date(r.lastUsed).toISOString()})`);
      }
      await this.catalog.save(data);
      if (removed.length) await this.prune(data);
      return removed;
    });
  }
}

/** Bytes that removing r frees: its blobs and layers that no remaining image shares. */
function exclusiveBytes(r: ImageRecord, remaining: ImageRecord[]): number {
  const shared = new Set<string>();
  for (const o of remaining) {
    shared.add(o.config.digest);
    shared.add(o.manifest.digest);
    for (const l of o.layers) {
      shared.add(l.blob.digest);
      shared.add(l.diffId);
    }
  }
  let n = 0;
  if (!shared.has(r.config.digest)) n += r.config.size;
  if (!shared.has(r.manifest.digest)) n += r.manifest.size;
  for (const l of r.layers) {
    if (!shared.has(l.blob.digest)) n += l.blob.size;
    if (!shared.has(l.diffId)) n += l.unpackedSize;
  }
  return n;
}

