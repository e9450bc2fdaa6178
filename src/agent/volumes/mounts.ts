import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

// tmpfs mounts and the kernel's view of them. Node has no mount(2), so mount(8)/umount(8) do the work;
// /proc/self/mountinfo is the truth about what is mounted (it survives an agent restart, our memory does not).

const run = promisify(execFile);

export interface TmpfsOptions {
  /** Octal permission of the mount's root directory. */
  mode: number;
  noexec?: boolean;
  /** Bytes; absent = the kernel default (half of RAM, only what is used counts). */
  sizeBytes?: bigint;
}

export async function mountTmpfs(target: string, opts: TmpfsOptions): Promise<void> {
  const o = ['nosuid', 'nodev', ...(opts.noexec ? ['noexec'] : []), `mode=${opts.mode.toString(8).padStart(4, '0')}`];
  if (opts.sizeBytes !== undefined) o.push(`size=${opts.sizeBytes}`);
  try {
    await run('mount', ['-t', 'tmpfs', '-o', o.join(','), 'tmpfs', target]);
  } catch (e) {
    throw new Error(`mount -t tmpfs on ${target} failed: ${stderrOf(e)}`);
  }
}

/** Unmounts `target`; a busy mount (a container still holds it) is detached lazily so tear-down can finish. */
export async function unmount(target: string): Promise<void> {
  try {
    await run('umount', [target]);
  } catch (e) {
    if (!(await isMountPoint(target))) return;
    try {
      await run('umount', ['-l', target]);
    } catch {
      throw new Error(`umount ${target} failed: ${stderrOf(e)}`);
    }
  }
}

function stderrOf(e: unknown): string {
  const s = (e as { stderr?: unknown }).stderr;
  return typeof s === 'string' && s.trim() ? s.trim() : e instanceof Error ? e.message : String(e);
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
  /** Per-mount options (rw, nosuid, …) followed by the superblock's (size=…, mode=…). */
  options: string[];
}

export async function readMounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const r = right.split(' ');
    out.push({ mountPoint: unescapeMountPath(f[4] ?? ''), fsType: r[0] ?? '', options: [...(f[5] ?? '').split(','), ...(r[2] ?? '').split(',')] });
  }
  return out;
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await readMounts()).some((m) => m.mountPoint === path);
}

/** Mount points at or below `dir`, deepest first (the order to unmount them in). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const found = new Set((await readMounts()).map((m) => m.mountPoint).filter((p) => p === dir || p.startsWith(prefix)));
  return [...found].sort((a, b) => b.length - a.length);
}
