import { readFile } from 'node:fs/promises';
import { run, runOk } from './proc.js';

// Host mounts the runtime makes: the private namespace directory, per-pod /dev/shm tmpfs, container rootfs
// overlays. /proc/self/mountinfo is the source of truth, so every operation can be repeated safely.

/** Mount points of this mount namespace, unescaped ("\040" → " "). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    if (f.length > 4) points.push(unescapeMountPath(f[4]!));
  }
  return points;
}

function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export async function isMountPoint(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/** Mount points at or below dir. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return (await mountPoints()).filter((p) => p === dir || p.startsWith(prefix));
}

/**
 * Makes dir a private bind mount of itself, so that mounts made below it (nsfs files pinning namespaces) are not
 * copied into the mount namespaces of containers started later, where they would keep the namespaces alive.
 */
export async function ensurePrivateMountDir(dir: string): Promise<void> {
  if (!(await isMountPoint(dir))) await runOk('mount', ['--bind', dir, dir]);
  await runOk('mount', ['--make-private', dir]);
}

export async function mountTmpfs(target: string, options: string): Promise<void> {
  if (await isMountPoint(target)) return;
  await runOk('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', target]);
}

export async function mountOverlay(lowerDirs: string[], upper: string, work: string, target: string): Promise<void> {
  if (await isMountPoint(target)) return;
  if (lowerDirs.length === 0) throw new Error('the image has no layers to mount; pull it again');
  const opts = `lowerdir=${lowerDirs.join(':')},upperdir=${upper},workdir=${work}`;
  await runOk('mount', ['-t', 'overlay', '-o', opts, 'overlay', target]);
}

/**
 * Unmounts each of these paths that is a mount point, with one `umount` for all of them (every process spawned
 * blocks the agent's event loop for a few ms); a path that stays mounted gets its own try, then a lazy unmount.
 */
export async function unmountPaths(paths: string[]): Promise<void> {
  const mounted = new Set(await mountPoints());
  const targets = paths.filter((p) => mounted.has(p));
  if (!targets.length) return;
  const r = await run('umount', targets);
  if (r.code === 0) return;
  const still = new Set(await mountPoints());
  for (const p of targets) {
    if (!still.has(p)) continue;
    if ((await run('umount', [p])).code !== 0) await run('umount', ['-l', p]);
  }
}

/** Unmounts every mount at or below path, deepest first. A mount still busy is detached (lazy) rather than left. */
export async function unmountAll(path: string): Promise<void> {
  const points = (await mountsUnder(path)).sort((a, b) => b.length - a.length);
  for (const p of points) {
    // The same path can be stacked several times; unmount until it is gone.
    for (let i = 0; i < 8 && (await isMountPoint(p)); i++) {
      const r = await run('umount', [p]);
      if (r.code !== 0) await run('umount', ['-l', p]);
    }
  }
}
