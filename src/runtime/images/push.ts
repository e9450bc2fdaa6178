import { createHash } from 'node:crypto';
import type { PullOptions } from '../interface.js';
import { RegistryClient } from './client.js';
import type { ContentStore } from './content.js';
import type { ImageRecord } from './catalog.js';
import { MT, type Descriptor } from './media.js';
import { formatRef, repoName, type ImageReference } from './reference.js';
import { endpointsFor, type RegistriesConfig } from './registries.js';
import { credentialsFor } from './pull.js';
import { Progress } from './progress.js';
import { formatBytes } from './fsutil.js';

// Pushing over the OCI distribution API: each blob the registry lacks goes up as POST upload + PUT with the
// digest, then the manifest is PUT under the tag. Mirrors are for pulls only; a push goes to the registry itself.

export type ManifestFormat = 'oci' | 'docker';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function layerType(mediaType: string, format: ManifestFormat): string {
  const gzip = mediaType.endsWith('gzip');
  if (format === 'docker') return gzip ? MT.dockerLayerGzip : MT.dockerLayer;
  return gzip ? MT.ociLayerGzip : MT.ociLayer;
}

/** The manifest to push: the stored one when it already has the asked format (its digest stays the same). */
export async function manifestFor(content: ContentStore, r: ImageRecord, format?: ManifestFormat): Promise<{ bytes: Buffer; mediaType: string }> {
  const storedFormat: ManifestFormat = r.manifest.mediaType === MT.dockerManifest ? 'docker' : 'oci';
  if (!format || format === storedFormat) {
    if (await content.hasBlob(r.manifest.digest)) return { bytes: await content.readBlob(r.manifest.digest), mediaType: r.manifest.mediaType };
  }
  const f = format ?? storedFormat;
  const mediaType = f === 'docker' ? MT.dockerManifest : MT.ociManifest;
  const doc = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: f === 'docker' ? MT.dockerConfig : MT.ociConfig, digest: r.config.digest, size: r.config.size },
    layers: r.layers.map((l) => ({ mediaType: layerType(l.blob.mediaType, f), digest: l.blob.digest, size: l.blob.size })),
  };
  return { bytes: Buffer.from(JSON.stringify(doc)), mediaType };
}

async function pushBlob(client: RegistryClient, content: ContentStore, d: Descriptor, onBytes: (n: number) => void): Promise<boolean> {
  const head = await client.request('HEAD', `blobs/${d.digest}`);
  head.body.resume();
  if (head.status === 200) return false;
  const start = await client.expect('POST', 'blobs/uploads/', [202], { headers: { 'content-length': '0' } }, 'starting an upload');
  start.body.resume();
  const location = start.headers.location;
  if (!location) throw new Error(`registry ${client.host} started an upload without a Location header`);
  const url = new URL(location, client.url('/'));
  url.searchParams.set('digest', d.digest);
  const put = await client.expect(
    'PUT',
    url.href,
    [201, 204],
    {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(d.size) },
      body: () => {
        const s = content.openBlob(d.digest);
        s.on('data', (c: Buffer) => onBytes(c.length));
        return s;
      },
    },
    `the upload of ${d.digest}`,
  );
  put.body.resume();
  return true;
}

/** Pushes the image to target; returns the manifest digest. */
export async function pushImage(
  content: ContentStore,
  registries: RegistriesConfig,
  r: ImageRecord,
  target: ImageReference,
  opts: PullOptions & { format?: ManifestFormat } = {},
): Promise<{ digest: string; repoDigest: string }> {
  if (target.digest) throw new Error(`push needs a tag, not a digest (${formatRef(target)})`);
  const endpoints = endpointsFor(target.registry, registries);
  const ep = endpoints[endpoints.length - 1];
  const client = new RegistryClient(ep, target.repository, 'pull,push', credentialsFor(ep, target.registry, opts));
  const name = formatRef(target);
  const blobs = [...r.layers.map((l) => l.blob), r.config];
  const total = blobs.reduce((n, b) => n + b.size, 0);
  opts.onProgress?.(`Pushing ${name} (${r.layers.length} layer${r.layers.length === 1 ? '' : 's'}, ${formatBytes(total)})`);
  const progress = new Progress(opts.onProgress, total, 'pushed');
  try {
    for (const b of blobs) await pushBlob(client, content, b, (n) => progress.add(n));
  } finally {
    progress.stop();
  }
  const m = await manifestFor(content, r, opts.format);
  const res = await client.expect('PUT', `manifests/${target.tag ?? 'latest'}`, [201, 200], { headers: { 'content-type': m.mediaType }, body: () => m.bytes }, `the manifest of ${name}`);
  res.body.resume();
  const digest = sha256(m.bytes);
  opts.onProgress?.(`Pushed ${name}@${digest} in ${progress.elapsed()}`);
  return { digest, repoDigest: `${repoName(target)}@${digest}` };
}
