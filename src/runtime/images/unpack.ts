import { createReadStream } from 'node:fs';
import { open, readdir, lstat, unlink } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { spawnExtract, extractBuffer } from './tar.js';
import { writeTar, type TarEntry } from './tarwriter.js';

// Layer unpacking: blob → (gunzip) → sha256 of the uncompressed tar (the diff ID) and GNU tar extraction, in one
// pass; then OCI whiteouts become overlayfs whiteouts so the directory can serve as an overlay lower as is.

export async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    const { bytesRead } = await fh.read(b, 0, 2, 0);
    return bytesRead === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Extracts a layer blob (tar or tar+gzip) into dir (which must exist and be empty); returns the diff ID and size. */
export async function unpackLayer(blobFile: string, dir: string): Promise<{ diffId: string; size: number }> {
  const source: Readable = (await isGzip(blobFile)) ? createReadStream(blobFile).pipe(createGunzip()) : createReadStream(blobFile);
  const hash = createHash('sha256');
  let size = 0;
  const tar = spawnExtract(dir, ['--xattrs', '--xattrs-include=security.capability']);
  try {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
      await tar.write(chunk);
    }
  } catch (e) {
    await tar.finish().catch(() => undefined);
    throw new Error(`layer data is corrupt: ${(e as Error).message}`);
  }
  await tar.finish();
  await convertWhiteouts(dir);
  return { diffId: `sha256:${hash.digest('hex')}`, size };
}

const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * OCI marks deletions with `.wh.<name>` files and opaque directories with `.wh..wh..opq`; overlayfs wants a 0/0
 * character device `<name>` and the xattr trusted.overlay.opaque=y. Node can neither mknod nor set xattrs, so the
 * replacements go through GNU tar as a small synthesised archive. Returns how many markers were converted.
 */
export async function convertWhiteouts(root: string): Promise<number> {
  const names = (await readdir(root, { recursive: true })) as string[];
  const markers = names.filter((p) => basename(p).startsWith(WH));
  if (!markers.length) return 0;
  const entries: TarEntry[] = [];
  for (const rel of markers) {
    const dir = dirname(rel);
    const abs = join(root, rel);
    await unlink(abs);
    if (basename(rel) === OPAQUE) {
      const st = await lstat(join(root, dir));
      entries.push({
        name: dir === '.' ? './' : `${dir}/`,
        type: 'dir',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
        xattrs: { 'trusted.overlay.opaque': 'y' },
      });
    } else {
      entries.push({ name: join(dir, basename(rel).slice(WH.length)), type: 'chardev', mode: 0, devmajor: 0, devminor: 0 });
    }
  }
  await extractBuffer(root, writeTar(entries), ['--xattrs', '--xattrs-include=trusted.overlay.*']);
  return markers.length;
}
