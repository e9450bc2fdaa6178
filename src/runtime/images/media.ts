// OCI and Docker v2 media types and the JSON documents of an image, with checks that turn untrusted JSON
// (from a registry or an archive) into typed values or a clear error.

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

/** Every manifest type kite understands; without this list registries 404 OCI manifests or downgrade to schema1. */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.ociManifest, MT.dockerList, MT.dockerManifest].join(', ');

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
}

export interface ContainerConfigJson {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[] | null;
  WorkingDir?: string;
  User?: string;
  ExposedPorts?: Record<string, object> | null;
  Labels?: Record<string, string> | null;
  [k: string]: unknown;
}

export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  created?: string;
  config?: ContainerConfigJson;
  rootfs: { type: string; diff_ids: string[] };
  history?: Array<Record<string, unknown>>;
  [k: string]: unknown;
}

export function isIndexType(mediaType: string): boolean {
  return mediaType === MT.ociIndex || mediaType === MT.dockerList;
}

export function isManifestType(mediaType: string): boolean {
  return mediaType === MT.ociManifest || mediaType === MT.dockerManifest;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(v)) throw new Error(`${what} is not a JSON object`);
  return v;
}

function descriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v) || typeof v.digest !== 'string' || typeof v.size !== 'number' || typeof v.mediaType !== 'string') {
    throw new Error(`${what}: a descriptor needs mediaType, digest and size`);
  }
  const d: Descriptor = { mediaType: v.mediaType, digest: v.digest, size: v.size };
  if (isObject(v.platform) && typeof v.platform.os === 'string' && typeof v.platform.architecture === 'string') {
    d.platform = { os: v.platform.os, architecture: v.platform.architecture };
    if (typeof v.platform.variant === 'string') d.platform.variant = v.platform.variant;
  }
  if (isObject(v.annotations)) d.annotations = Object.fromEntries(Object.entries(v.annotations).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return d;
}

/** The document's media type: the body's own field wins over a registry's Content-Type, which may be generic. */
export function documentMediaType(bytes: Buffer, contentType: string | undefined): string {
  const doc = parseJson(bytes, 'manifest');
  if (typeof doc.mediaType === 'string') return doc.mediaType;
  const ct = (contentType ?? '').split(';')[0].trim();
  if (ct && ct !== 'application/json' && ct !== 'text/plain') return ct;
  if (Array.isArray(doc.manifests)) return MT.ociIndex;
  if (doc.schemaVersion === 1) return MT.dockerSchema1;
  return MT.ociManifest;
}

export function parseManifest(bytes: Buffer, what = 'manifest'): ImageManifest {
  const doc = parseJson(bytes, what);
  if (doc.schemaVersion !== 2) throw new Error(`${what}: schemaVersion ${String(doc.schemaVersion)} is not supported (only schema 2 / OCI)`);
  if (!Array.isArray(doc.layers)) throw new Error(`${what}: no layers list`);
  return {
    schemaVersion: 2,
    mediaType: typeof doc.mediaType === 'string' ? doc.mediaType : undefined,
    config: descriptor(doc.config, `${what} config`),
    layers: doc.layers.map((l, i) => descriptor(l, `${what} layer ${i}`)),
    annotations: isObject(doc.annotations) ? (doc.annotations as Record<string, string>) : undefined,
  };
}

export function parseIndex(bytes: Buffer, what = 'image index'): ImageIndex {
  const doc = parseJson(bytes, what);
  if (!Array.isArray(doc.manifests)) throw new Error(`${what}: no manifests list`);
  return {
    schemaVersion: 2,
    mediaType: typeof doc.mediaType === 'string' ? doc.mediaType : undefined,
    manifests: doc.manifests.map((m, i) => descriptor(m, `${what} entry ${i}`)),
  };
}

export function parseImageConfig(bytes: Buffer, what = 'image config'): ImageConfigJson {
  const doc = parseJson(bytes, what);
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every((d) => typeof d === 'string')) {
    throw new Error(`${what}: rootfs.diff_ids is missing`);
  }
  if (doc.config !== undefined && doc.config !== null && !isObject(doc.config)) throw new Error(`${what}: "config" is not an object`);
  return doc as ImageConfigJson;
}

/** Picks linux/amd64 from an index, or says which platforms there are. */
export function selectPlatform(index: ImageIndex, what: string): Descriptor {
  const candidates = index.manifests.filter((m) => isManifestType(m.mediaType) || m.mediaType === '');
  const match = candidates.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64');
  if (match) return match;
  // An index without platform fields (some archives) with a single image is taken as is.
  if (candidates.length === 1 && !candidates[0].platform) return candidates[0];
  const have = index.manifests.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : m.mediaType)).join(', ');
  throw new Error(`${what} has no linux/amd64 image (it has: ${have || 'nothing'}); this node runs linux/amd64`);
}

export function isGzipLayer(mediaType: string): boolean {
  return mediaType.endsWith('gzip');
}
