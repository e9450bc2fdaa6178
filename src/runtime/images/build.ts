import { readdir, stat } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { ContentStore } from './content.js';
import type { ImageRecord } from './catalog.js';
import { MT, type ContainerConfigJson, type ImageConfigJson, type ImageManifest } from './media.js';
import { spawnCreate } from './tar.js';

// `kite image build`: a directory becomes one layer (root-owned) on top of an optional local base image, and the
// config inherits the base's, overridden by what is given. No Dockerfile: tests and small apps need no more.

export interface BuildOptions {
  contextDir: string;
  tag: string;
  from?: string;
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  exposedPorts?: string[];
  user?: string;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Env lists merged by variable name, later entries winning, order of first appearance kept. */
function mergeEnv(base: string[], extra: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...base, ...extra]) {
    const eq = e.indexOf('=');
    if (eq <= 0) throw new Error(`--env "${e}" must look like NAME=value`);
    out.set(e.slice(0, eq), e);
  }
  return [...out.values()];
}

/** Writes the layer blob for dir; returns its descriptor and diff ID. */
async function layerFromDir(content: ContentStore, dir: string): Promise<{ digest: string; size: number; diffId: string }> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new Error(`build context ${dir} is not a directory`);
  const names = (await readdir(dir)).sort();
  const tar = spawnCreate(dir, names);
  const diff = createHash('sha256');
  const hashUncompressed = new Transform({
    transform(chunk: Buffer, _e, cb) {
      diff.update(chunk);
      cb(null, chunk);
    },
  });
  const [blob] = await Promise.all([content.ingest(tar.stdout.pipe(hashUncompressed).pipe(createGzip()), { what: `layer of ${dir}` }), tar.done]);
  return { ...blob, diffId: `sha256:${diff.digest('hex')}` };
}

export async function buildImage(content: ContentStore, opts: BuildOptions, base: ImageRecord | undefined): Promise<{ manifestBytes: Buffer; manifest: ImageManifest }> {
  const layer = await layerFromDir(content, opts.contextDir);
  const baseConfig: ImageConfigJson = base ? (JSON.parse((await content.readBlob(base.config.digest)).toString('utf8')) as ImageConfigJson) : { rootfs: { type: 'layers', diff_ids: [] } };
  const c: ContainerConfigJson = { ...(baseConfig.config ?? {}) };
  if (opts.entrypoint?.length) {
    c.Entrypoint = opts.entrypoint;
    // As in a Dockerfile: a new ENTRYPOINT drops the base's CMD unless a CMD is given too.
    if (!opts.cmd) c.Cmd = null;
  }
  if (opts.cmd) c.Cmd = opts.cmd;
  c.Env = mergeEnv(c.Env ?? (base ? [] : [DEFAULT_PATH]), opts.env ?? []);
  if (opts.workingDir) c.WorkingDir = opts.workingDir;
  if (opts.user) c.User = opts.user;
  if (opts.exposedPorts?.length) {
    c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
    for (const p of opts.exposedPorts) c.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
  }
  const created = new Date().toISOString();
  const config: ImageConfigJson = {
    ...baseConfig,
    architecture: 'amd64',
    os: 'linux',
    created,
    config: c,
    rootfs: { type: 'layers', diff_ids: [...baseConfig.rootfs.diff_ids, layer.diffId] },
    history: [...(baseConfig.history ?? []), { created, created_by: `kite image build ${opts.contextDir}` }],
  };
  const configBlob = await content.writeBlob(Buffer.from(JSON.stringify(config)));
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: [...(base?.layers.map((l) => l.blob) ?? []), { mediaType: MT.ociLayerGzip, digest: layer.digest, size: layer.size }],
  };
  return { manifestBytes: Buffer.from(JSON.stringify(manifest)), manifest };
}
