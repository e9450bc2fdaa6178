import { readFile, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join, normalize } from 'node:path';
import { MT, isIndexType, parseImageConfig, parseIndex, parseManifest, selectPlatform, type Descriptor, type ImageManifest } from './media.js';
import { DIGEST } from './reference.js';
import { normalizeImageRef } from '../interface.js';
import type { ContentStore } from './content.js';
import { isGzip } from './unpack.js';

// Image archives, already extracted into a directory: `docker save` (manifest.json with Config, RepoTags, Layers)
// and OCI image layouts (oci-layout, index.json, blobs/sha256). Each image found is copied into the content
// store with its digests checked; the caller adds it to the index.

export interface ArchiveImage {
  names: string[];
  manifestBytes?: Buffer;
  manifest: ImageManifest;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Resolves a path inside the archive, refusing escapes such as "../../etc/passwd". */
function inside(root: string, rel: string): string {
  const p = normalize(join(root, rel));
  if (!p.startsWith(normalize(root) + '/')) throw new Error(`archive entry "${rel}" points outside the archive`);
  return p;
}


/** A name from an OCI annotation: a full reference, or nothing when it is only a tag ("1.35"). */
function annotationName(a: Record<string, string> | undefined): string | undefined {
  const full = a?.['io.containerd.image.name'];
  if (full) return normalizeImageRef(full);
  const ref = a?.['org.opencontainers.image.ref.name'];
  if (ref && (ref.includes('/') || ref.includes(':'))) return normalizeImageRef(ref);
  return undefined;
}

async function readOciLayout(root: string, content: ContentStore): Promise<ArchiveImage[]> {
  const blob = (digest: string) => {
    if (!DIGEST.test(digest)) throw new Error(`unsupported digest ${digest}`);
    return join(root, 'blobs', 'sha256', digest.slice(7));
  };
  const copy = async (d: Descriptor, what: string) => {
    if (!(await exists(blob(d.digest)))) throw new Error(`the archive lacks ${what} ${d.digest}`);
    await content.ensureBlob(d.digest, () => content.ingest(createReadStream(blob(d.digest)), { expected: d.digest, what: `${what} in the archive` }));
  };
  const index = parseIndex(await readFile(join(root, 'index.json')), 'index.json of the archive');
  const out: ArchiveImage[] = [];
  for (const entry of index.manifests) {
    let desc = entry;
    if (isIndexType(desc.mediaType)) {
      await copy(desc, 'image index');
      desc = selectPlatform(parseIndex(await readFile(blob(desc.digest))), `image index ${desc.digest} of the archive`);
    }
    await copy(desc, 'manifest');
    const manifestBytes = await readFile(blob(desc.digest));
    const manifest = parseManifest(manifestBytes, `manifest ${desc.digest} of the archive`);
    await copy(manifest.config, 'config');
    for (const l of manifest.layers) await copy(l, 'layer');
    const name = annotationName(entry.annotations);
    const existing = out.find((o) => o.manifest.config.digest === manifest.config.digest);
    if (existing) {
      if (name) existing.names.push(name);
    } else out.push({ names: name ? [name] : [], manifestBytes, manifest: { ...manifest, mediaType: desc.mediaType } });
  }
  return out;
}

interface DockerSaveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

async function readDockerSave(root: string, content: ContentStore): Promise<ArchiveImage[]> {
  const entries = JSON.parse(await readFile(join(root, 'manifest.json'), 'utf8')) as DockerSaveEntry[];
  if (!Array.isArray(entries)) throw new Error('manifest.json of the archive is not a list');
  const out: ArchiveImage[] = [];
  for (const e of entries) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers)) throw new Error('manifest.json of the archive: each entry needs Config and Layers');
    const configFile = inside(root, e.Config);
    const config = await content.ingest(createReadStream(configFile), { what: `config ${e.Config}` });
    const configJson = parseImageConfig(await readFile(configFile), `config ${e.Config} of the archive`);
    if (configJson.rootfs.diff_ids.length !== e.Layers.length) {
      throw new Error(`archive image ${e.Config}: ${e.Layers.length} layers but ${configJson.rootfs.diff_ids.length} diff IDs in its config`);
    }
    const layers: Descriptor[] = [];
    for (const l of e.Layers) {
      const file = inside(root, l);
      const gz = await isGzip(file);
      const b = await content.ingest(createReadStream(file), { what: `layer ${l}` });
      layers.push({ mediaType: gz ? MT.ociLayerGzip : MT.ociLayer, digest: b.digest, size: b.size });
    }
    out.push({
      names: (e.RepoTags ?? []).map((t) => normalizeImageRef(t)),
      manifest: { schemaVersion: 2, mediaType: MT.ociManifest, config: { mediaType: MT.ociConfig, digest: config.digest, size: config.size }, layers },
    });
  }
  return out;
}

export async function readArchiveDir(root: string, content: ContentStore): Promise<ArchiveImage[]> {
  if ((await exists(join(root, 'oci-layout'))) && (await exists(join(root, 'index.json')))) return readOciLayout(root, content);
  if (await exists(join(root, 'manifest.json'))) return readDockerSave(root, content);
  throw new Error('not an image archive: expected a docker save archive (manifest.json) or an OCI image layout (oci-layout, index.json)');
}
