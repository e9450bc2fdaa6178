import { createHash } from 'node:crypto';
import type { PullOptions, RegistryAuth } from '../interface.js';
import { RegistryClient, RegistryError, readBody } from './client.js';
import type { ContentStore } from './content.js';
import { DigestMismatchError } from './content.js';
import type { LayerRecord } from './catalog.js';
import { MANIFEST_ACCEPT, MT, documentMediaType, isIndexType, isManifestType, parseImageConfig, parseIndex, parseManifest, selectPlatform, type Descriptor, type ImageConfigJson } from './media.js';
import { formatRef, repoName, type ImageReference } from './reference.js';
import { endpointsFor, type Endpoint, type RegistriesConfig } from './registries.js';
import { Progress } from './progress.js';
import { formatBytes } from './fsutil.js';

// Pulling from an OCI distribution registry: resolve the manifest (through an index to linux/amd64), fetch the
// config and the layer blobs verifying every digest, and unpack each layer checking its diff ID.

export interface PulledImage {
  manifest: Descriptor;
  config: Descriptor;
  configJson: ImageConfigJson;
  layers: LayerRecord[];
  /** name@digest of what the reference resolved to (the index digest for a multi-platform image). */
  repoDigest: string;
}

export interface PullContext {
  content: ContentStore;
  registries: RegistriesConfig;
  /** Protects content from a concurrent prune until the image is in the index; returns the release. */
  lease(digests: string[]): Promise<() => Promise<void>>;
  /** Whether the store already holds a complete image with this config digest. */
  haveImage(configDigest: string): Promise<LayerRecord[] | undefined>;
}

/** A failure that should end the pull (no fallback to the next endpoint). `notFound` marks a missing image. */
export class PullFailure extends Error {
  constructor(
    message: string,
    readonly notFound = false,
    readonly unauthorized = false,
  ) {
    super(message);
  }
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export function credentialsFor(ep: Endpoint, registry: string, opts: PullOptions | undefined): RegistryAuth | undefined {
  return ep.auth ?? opts?.credentials?.(ep.mirror ? ep.host : registry);
}

function classify(e: unknown, name: string, stage: 'manifest' | 'content'): PullFailure {
  if (e instanceof PullFailure) return e;
  if (e instanceof RegistryError) {
    if (e.status === 401 || e.status === 403) return new PullFailure(e.message, false, true);
    if (stage === 'manifest' && (e.status === 404 || e.code === 'MANIFEST_UNKNOWN' || e.code === 'NAME_UNKNOWN')) {
      return new PullFailure(`image ${name} not found: ${e.message}; check the image name and tag`, true);
    }
    return new PullFailure(e.message);
  }
  if (e instanceof DigestMismatchError) return new PullFailure(e.message);
  return new PullFailure(`${name}: ${(e as Error).message}`);
}

async function fetchManifest(client: RegistryClient, reference: string, name: string): Promise<{ bytes: Buffer; digest: string; mediaType: string }> {
  const res = await client.expect('GET', `manifests/${reference}`, [200], { headers: { accept: MANIFEST_ACCEPT } }, `the manifest of ${name}`);
  const bytes = await readBody(res, 4 << 20);
  const digest = sha256(bytes);
  const claimed = res.headers['docker-content-digest'];
  const expected = reference.startsWith('sha256:') ? reference : typeof claimed === 'string' && claimed.startsWith('sha256:') ? claimed : undefined;
  if (expected && expected !== digest) {
    throw new PullFailure(`manifest of ${name} from ${client.host} has digest ${digest}, expected ${expected}; the registry served corrupted or tampered data`);
  }
  const ct = res.headers['content-type'];
  return { bytes, digest, mediaType: documentMediaType(bytes, typeof ct === 'string' ? ct : undefined) };
}

/** Manifest (through an index, if any) of the reference on one endpoint. */
async function resolve(client: RegistryClient, ref: ImageReference): Promise<{ manifestBytes: Buffer; manifest: Descriptor; repoDigest: string }> {
  const name = formatRef(ref);
  let m = await fetchManifest(client, ref.digest ?? ref.tag ?? 'latest', name);
  const repoDigest = `${repoName(ref)}@${m.digest}`;
  if (isIndexType(m.mediaType)) {
    const chosen = selectPlatform(parseIndex(m.bytes, `image index of ${name}`), `image index of ${name}`);
    m = await fetchManifest(client, chosen.digest, name);
  }
  if (m.mediaType === MT.dockerSchema1 || m.mediaType === MT.dockerSchema1Signed) {
    throw new PullFailure(`${name} has a Docker schema 1 manifest, which kite does not support; re-push it with a current client`);
  }
  if (!isManifestType(m.mediaType)) throw new PullFailure(`${name}: unsupported manifest type ${m.mediaType}`);
  return { manifestBytes: m.bytes, manifest: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length }, repoDigest };
}

async function fetchBlob(ctx: PullContext, client: RegistryClient, d: Descriptor, what: string, onBytes?: (n: number) => void): Promise<void> {
  await ctx.content.ensureBlob(d.digest, async () => {
    const res = await client.expect('GET', `blobs/${d.digest}`, [200], {}, what);
    return ctx.content.ingest(res.body, { expected: d.digest, what: `${what} from ${client.host}`, onBytes });
  });
}

/** Runs fn over items with at most `limit` at a time. */
async function parallel<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

async function pullFrom(ctx: PullContext, client: RegistryClient, ref: ImageReference, onProgress?: (m: string) => void): Promise<PulledImage> {
  const name = formatRef(ref);
  const { manifestBytes, manifest: mdesc, repoDigest } = await resolve(client, ref).catch((e: unknown) => {
    throw classify(e, name, 'manifest');
  });
  try {
    const manifest = parseManifest(manifestBytes, `manifest of ${name}`);
    for (const l of manifest.layers) {
      if (l.mediaType.includes('zstd')) throw new PullFailure(`${name}: zstd-compressed layers are not supported; push the image with gzip layers`);
      if (l.mediaType.includes('foreign') || l.mediaType.includes('nondistributable')) throw new PullFailure(`${name}: foreign (non-distributable) layers are not supported`);
    }
    const release = await ctx.lease([mdesc.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
    try {
      await ctx.content.writeBlob(manifestBytes);
      await fetchBlob(ctx, client, manifest.config, `config ${manifest.config.digest} of ${name}`);
      const configJson = parseImageConfig(await ctx.content.readBlob(manifest.config.digest), `config of ${name}`);
      const diffIds = configJson.rootfs.diff_ids;
      if (diffIds.length !== manifest.layers.length) {
        throw new PullFailure(`${name}: the manifest lists ${manifest.layers.length} layers but the config has ${diffIds.length} diff IDs; the image is malformed`);
      }
      const existing = await ctx.haveImage(manifest.config.digest);
      if (existing) {
        onProgress?.(`Image ${name} is up to date (${mdesc.digest})`);
        return { manifest: mdesc, config: manifest.config, configJson, layers: existing, repoDigest };
      }
      const missing: Descriptor[] = [];
      for (const l of manifest.layers) if (!(await ctx.content.hasBlob(l.digest))) missing.push(l);
      const total = manifest.layers.reduce((n, l) => n + l.size, 0);
      onProgress?.(`Pulling ${name} (${manifest.layers.length} layer${manifest.layers.length === 1 ? '' : 's'}, ${formatBytes(total)})`);
      const progress = new Progress(onProgress, missing.reduce((n, l) => n + l.size, 0), 'pulled');
      const layers: LayerRecord[] = [];
      try {
        await parallel(manifest.layers, 3, async (l, i) => {
          const what = `layer ${l.digest} of ${name}`;
          await fetchBlob(ctx, client, l, what, (n) => progress.add(n));
          const unpackedSize = await ctx.content.ensureLayer(diffIds[i], l.digest, what);
          layers[i] = { diffId: diffIds[i], blob: { mediaType: l.mediaType, digest: l.digest, size: l.size }, unpackedSize };
        });
      } finally {
        progress.stop();
      }
      onProgress?.(`Pulled ${name} (${formatBytes(total)}) in ${progress.elapsed()}`);
      return { manifest: mdesc, config: manifest.config, configJson, layers, repoDigest };
    } finally {
      await release();
    }
  } catch (e) {
    throw classify(e, name, 'content');
  }
}

/** Pulls from the first endpoint (mirrors, then the registry) that has the image. */
export async function pullImageFromRegistry(ctx: PullContext, ref: ImageReference, opts: PullOptions = {}): Promise<PulledImage> {
  const endpoints = endpointsFor(ref.registry, ctx.registries);
  const mirrorErrors: string[] = [];
  for (const ep of endpoints) {
    const client = new RegistryClient(ep, ref.repository, 'pull', credentialsFor(ep, ref.registry, opts));
    try {
      return await pullFrom(ctx, client, ref, opts.onProgress);
    } catch (e) {
      const f = classify(e, formatRef(ref), 'content');
      if (!ep.mirror) {
        const extra = mirrorErrors.length ? ` (mirrors tried first: ${mirrorErrors.join('; ')})` : '';
        throw new PullFailure(f.message + extra, f.notFound, f.unauthorized);
      }
      // A mirror that lacks the image or is down: containerd and k3s fall back to the next endpoint too.
      mirrorErrors.push(`${ep.url.href}: ${f.message}`);
      opts.onProgress?.(`mirror ${ep.url.host} failed, trying the next endpoint: ${f.message}`);
    }
  }
  throw new PullFailure(`no endpoint for ${ref.registry}`);
}
