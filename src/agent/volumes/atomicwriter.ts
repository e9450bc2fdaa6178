import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

// The kubelet's atomic writer layout for configMap, secret, downwardAPI and projected volumes:
//
//   <dir>/..2026_11_22_10_11_12.Ab3dEf/   the payload, written in full before anyone can see it
//   <dir>/..data -> ..2026_11_22_10_11_12.Ab3dEf
//   <dir>/<key>  -> ..data/<key>          one symlink per top-level path of the payload
//
// An update writes a new timestamped directory and renames a fresh `..data` symlink over the old one, so a
// container that reads through `..data` sees either the whole old payload or the whole new one, never a mix.
// It only works because containers get the whole directory bind-mounted (a single-file bind pins an inode).

export interface PayloadFile {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** Relative path inside the volume → file. */
export type Payload = Map<string, PayloadFile>;

const DATA_LINK = '..data';
const DATA_LINK_TMP = '..data_tmp';

export interface WriteOptions {
  /** The pod's fsGroup: files become group-owned by it and group-readable, as the kubelet does. */
  fsGroup?: number;
}

function checkPath(p: string): void {
  const parts = p.split('/');
  if (!p || p.startsWith('/') || parts.some((c) => c === '..' || c === '') || p.startsWith('..'))
    throw new Error(`invalid path "${p}": must be relative, without ".." components, and must not start with ".."`);
}

function effectiveMode(mode: number, opts: WriteOptions): number {
  return opts.fsGroup === undefined ? mode & 0o7777 : (mode | 0o440) & 0o7777;
}

function timestampName(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The directory `..data` currently points at (its name inside `dir`), if any. */
export async function currentDataDir(dir: string): Promise<string | undefined> {
  try {
    return await readlink(join(dir, DATA_LINK));
  } catch {
    return undefined;
  }
}

/** Reads back what is visible through `..data` (for comparison and for tests). */
export async function readPayload(dir: string): Promise<Payload> {
  const out: Payload = new Map();
  const data = await currentDataDir(dir);
  if (!data) return out;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, data, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) {
        const full = join(dir, data, r);
        out.set(r, { data: await readFile(full), mode: (await stat(full)).mode & 0o7777 });
      }
    }
  };
  await walk('');
  return out;
}

function samePayload(a: Payload, b: Payload): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const o = b.get(k);
    if (!o || o.mode !== v.mode || !o.data.equals(v.data)) return false;
  }
  return true;
}

function topLevel(payload: Payload): Set<string> {
  return new Set([...payload.keys()].map((p) => p.split('/')[0]!));
}

/**
 * Makes `dir` show exactly `payload`. Returns false when it already did (nothing written). `dir` must exist;
 * for secrets it must already be a tmpfs, the writer never checks what it writes onto.
 */
export async function writePayload(dir: string, payload: Payload, opts: WriteOptions = {}): Promise<boolean> {
  for (const p of payload.keys()) checkPath(p);
  const want: Payload = new Map([...payload].map(([k, v]) => [k, { data: v.data, mode: effectiveMode(v.mode, opts) }]));
  const oldData = await currentDataDir(dir);
  const oldPayload = oldData ? await readPayload(dir) : new Map<string, PayloadFile>();
  if (oldData && samePayload(want, oldPayload)) return false;

  const fresh = await mkdtemp(join(dir, timestampName()));
  await chmod(fresh, 0o755);
  for (const [rel, f] of want) {
    const full = join(fresh, rel);
    await mkdir(dirname(full), { recursive: true, mode: 0o755 });
    await writeFile(full, f.data, { mode: f.mode });
    await chmod(full, f.mode); // the umask may have narrowed it
    if (opts.fsGroup !== undefined) await chown(full, 0, opts.fsGroup);
  }
  const freshName = fresh.slice(dir.length + 1);

  // The swap: rename(2) of a symlink over another is atomic.
  await rm(join(dir, DATA_LINK_TMP), { force: true });
  await symlink(freshName, join(dir, DATA_LINK_TMP));
  await rename(join(dir, DATA_LINK_TMP), join(dir, DATA_LINK));

  const visible = topLevel(want);
  for (const name of visible) {
    const link = join(dir, name);
    if (!(await exists(link))) await symlink(join(DATA_LINK, name), link);
    else if (!(await lstat(link)).isSymbolicLink()) throw new Error(`${link} exists and is not a symlink into ${DATA_LINK}`);
  }
  for (const name of topLevel(oldPayload)) {
    if (!visible.has(name)) await unlink(join(dir, name)).catch(() => undefined);
  }
  // The previous payload, and any left behind by a crash between mkdtemp and the swap.
  for (const e of await readdir(dir)) {
    if (e.startsWith('..') && e !== DATA_LINK && e !== freshName && /^\.\.\d{4}_/.test(e)) await rm(join(dir, e), { recursive: true, force: true });
  }
  return true;
}
